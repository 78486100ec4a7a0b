#!/usr/bin/env bash
# The hostile inputs of issue 13, each run with the release binary: prints case | exit code | the
# first line of stderr (or of stdout). Run from the repository: bash benches/hostile_cases.sh
# (needs gzip and timeout; python3 for the byte edits).
set -u
S=${SKYCOMB:-$(pwd)/target/release/skycomb}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
DATA=$(pwd)/tests/data

# set_card FILE KEY VALUE: replace KEY's value in place (same length, FITS card layout)
set_card() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
p, key, value = sys.argv[1:]
b = bytearray(open(p, 'rb').read())
for at in range(0, len(b), 80):
    if b[at:at + 8] == key.ljust(8).encode():
        b[at + 8:at + 80] = ('= %20s' % value).ljust(72).encode()
        break
else:
    sys.exit('no ' + key)
open(p, 'wb').write(b)
EOF
}

row() { # NAME COMMAND...
    local name=$1
    shift
    local out code
    out=$(timeout 60 "$@" 2>&1 >/dev/null)
    code=$?
    [ -z "$out" ] && out=$(timeout 60 "$@" 2>/dev/null | head -1)
    printf '| %s | %s | %s |\n' "$name" "$code" "$(echo "$out" | head -1 | sed "s|$D/||g" | cut -c1-150)"
}

echo "| case | exit | message |"
echo "|---|---|---|"
for k in ZTILE1 ZTILE2 ZVAL1; do
    cp "$DATA/shared/odd-astropy/m13_rice.fits" "$D/$k.fits"
    set_card "$D/$k.fits" "$k" 0
    row "$k=0, stats" "$S" stats "$D/$k.fits"
    row "$k=0, header" "$S" header "$D/$k.fits"
done
mkdir "$D/night" && cp "$D/ZTILE1.fits" "$D/night/" && cp "$DATA/iraf/inputs/orion_0"[1-3].fits "$D/night/"
row "scan of a folder holding ZTILE1=0" "$S" scan "$D/night"
cp "$DATA/iraf/inputs/orion_01.fits" "$D/big.fits"
set_card "$D/big.fits" NAXIS1 4294967296 && set_card "$D/big.fits" NAXIS2 4294967296
row "NAXIS1=NAXIS2=2^32 in a tiny file" "$S" stats "$D/big.fits"
cp "$DATA/iraf/inputs/orion_01.fits" "$D/cube.fits"
python3 - "$D/cube.fits" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
cards = [bytes(b[i:i + 80]) for i in range(0, 2880, 80)]
out = []
for c in cards:
    k = c[:8].strip()
    if k == b'NAXIS':
        c = b'NAXIS   =                    3'.ljust(80)
    elif k == b'NAXIS1':
        c = b'NAXIS1  =              2097152'.ljust(80)
    elif k == b'NAXIS2':
        c = b'NAXIS2  =              2097152'.ljust(80)
        out.append(c)
        c = b'NAXIS3  =              4194304'.ljust(80)
    out.append(c)
b[0:2880] = b''.join(out)[:2880]
open(p, 'wb').write(b)
EOF
row "2^21 x 2^21 x 2^22 in a tiny file" "$S" stats "$D/cube.fits"
cp "$DATA/iraf/inputs/orion_01.fits" "$D/liar.fits"
set_card "$D/liar.fits" NAXIS1 100000 && set_card "$D/liar.fits" NAXIS2 100000 && gzip "$D/liar.fits"
row ".fits.gz claiming 100000x100000" "$S" stats "$D/liar.fits.gz"
mkdir -p "$D/loop/sub" && cp "$DATA/iraf/inputs/orion_01.fits" "$D/loop/" && ln -s .. "$D/loop/sub/up" && ln -s .. "$D/loop/sub/up2"
row "two links to the parent, scan -r" "$S" scan -r "$D/loop"
mkdir "$D/pipe" && mkfifo "$D/pipe/pipe.fits" && cp "$DATA/iraf/inputs/orion_01.fits" "$D/pipe/"
row "a named pipe pipe.fits, scan" "$S" scan "$D/pipe"
row "a named pipe named on the command line" "$S" stats "$D/pipe/pipe.fits"
row "a file that does not exist (OS error once)" "$S" stats "$D/missing.fits"
row "detect --threshold nan" "$S" detect "$DATA/iraf/inputs/orion_01.fits" --threshold nan
row "centroid --box 0" "$S" centroid "$DATA/iraf/inputs/orion_01.fits" --at 30,20 --box 0
: >"$D/empty.toml"
row "an empty recipe" "$S" run "$D/empty.toml"
printf '[[step]]\nrun = "combine"\nfiles = ["a.fits"]\noutput = "o.fits"\nbogus = 3\n' >"$D/bad.toml"
row "a recipe with an unknown key on line 5" "$S" run "$D/bad.toml"
printf '32 32\n' >"$D/star.txt"
row "photometry --radius 1e9 (64x48 frame)" "$S" photometry "$DATA/iraf/inputs/orion_01.fits" --stars "$D/star.txt" --radius 1e9
# races: two combines into one output
F=("$DATA"/iraf/inputs/orion_*.fits)
ok=0
for t in 1 2 3 4 5 6 7; do
    "$S" combine "${F[@]}" -o "$D/race$t.fits" >/dev/null 2>&1 &
    "$S" combine "${F[@]}" -o "$D/race$t.fits" >/dev/null 2>&1 &
    wait -n; a=$?; wait -n; b=$?
    [ $((a == 0)) -ne $((b == 0)) ] && ok=$((ok + 1))
done
printf '| two combines into one output, 7 tries | - | exactly one output and one refusal in %s of 7 |\n' "$ok"
# nonsense calibration
"$S" sample-night "$D/n" --size 96 --seed 3 >/dev/null
python3 - "$D/n" <<'EOF'
import sys, glob
def split(p):
    b = open(p, 'rb').read()
    end = next(a for a in range(0, len(b), 80) if b[a:a + 8] == b'END     ')
    start = (end // 2880 + 1) * 2880
    return b[:start], b[start:]
_, bias = split(sys.argv[1] + '/bias_001.fits')
for p in glob.glob(sys.argv[1] + '/flat_R_*.fits'):
    head, _ = split(p)
    open(p, 'wb').write(head + bias)  # the flats' pixels are a bias frame's
EOF
row "flats that are biases" "$S" calibrate "$D/n" --output "$D/n/cal"
