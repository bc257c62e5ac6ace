#!/usr/bin/env bash
# `probescope replay` on crafted captures (tests/tools/make_capture.cpp; TEST-NET addresses, no
# traffic, no lab): every link type and file format, gzip and stdin, several files in order,
# damaged files (cut, corrupt, unknown link type, short snap length, time running backwards),
# capture time as the windows' clock, --dst on a two-way capture, and the --summary tables.
# Counts are exact, from the `stats` records (sum of .classes.*) and `source`/`scanner` records.
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}
MAKE_CAPTURE=$(dirname "$GEN")/probescope-make-capture
[ -x "$MAKE_CAPTURE" ] || { echo "FAIL no $MAKE_CAPTURE (build the probescope-make-capture target)"; exit 1; }

SCANNER=198.51.100.10
TARGET=203.0.113.5
SCAN_VERDICT="$SCANNER syn vertical nmap"
C=$WORK/cap
mkdir -p "$C"

mk() { "$MAKE_CAPTURE" "$@" || { echo "FAIL probescope-make-capture $*"; FAILED=1; }; }

# replay NAME ARGS...: probescope replay ARGS, JSON to $WORK/NAME.json, stderr to $WORK/NAME.err,
# stdout to $WORK/NAME.out, exit status in RC.
RC=0
replay() {
	local name=$1
	shift
	rm -f "$WORK/$name.json"
	"$PROBESCOPE" replay "$@" -o "$WORK/$name.json" >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
}

# Sums over the stats records of run NAME: all classes, one class, packets.
stats_sum() { jq -s "[.[] | select(.type==\"stats\") | $2] | add // 0" "$WORK/$1.json" 2>/dev/null || echo "no JSON"; }
classes() { stats_sum "$1" '[.classes[]] | add'; }
cls() { stats_sum "$1" ".classes.$2"; }
# The first scanner record of run NAME as "src technique pattern tool", or "none".
verdict() {
	jq -sr '[.[] | select(.type=="scanner")] | if length == 0 then "none" else
		(first | "\(.src) \(.techniques[0]) \(.pattern) \(.tool.name // "none")") end' "$WORK/$1.json" \
		2>/dev/null || echo "no JSON"
}
# Everything the equivalence checks compare: the totals, per class, and every source and scanner.
signature() {
	jq -sc '{packets: ([.[] | select(.type=="stats") | .packets] | add),
		classes: (reduce (.[] | select(.type=="stats") | .classes) as $c ({};
			reduce ($c | keys[]) as $k (.; .[$k] += $c[$k]))),
		sources: ([.[] | select(.type=="source") | {src, packets}] | group_by(.src) |
			map({src: .[0].src, syn: (map(.packets.tcp_syn) | add)})),
		scanners: [.[] | select(.type=="scanner") | {src, techniques, pattern, tool: .tool.name, packets}]}' \
		"$WORK/$1.json" 2>/dev/null || echo "no JSON"
}
# expect_err NAME WHAT FIXED_TEXT: run NAME's stderr contains FIXED_TEXT.
expect_err() {
	if grep -qF -- "$3" "$WORK/$1.err"; then
		echo "ok   $2: $(grep -F -- "$3" "$WORK/$1.err" | head -1)"
	else
		echo "FAIL $2: no '$3' on stderr:"; cat "$WORK/$1.err"; FAILED=1
	fi
}

# --- The same 20-port nmap-like SYN scan in every link type and format. ---
for link in en10mb sll sll2 raw ipv4; do
	mk scan -o "$C/scan-$link.pcap" --link "$link"
	replay "scan-$link" "$C/scan-$link.pcap"
	expect_eq "pcap $link: exit status" "$RC" 0
	expect_eq "pcap $link: packets (sum of classes)" "$(classes "scan-$link")" 20
	expect_eq "pcap $link: tcp_syn" "$(cls "scan-$link" tcp_syn)" 20
	expect_eq "pcap $link: verdict" "$(verdict "scan-$link")" "$SCAN_VERDICT"
done
# Time is the capture's: the first packet is stamped 2024-01-01T00:00:00.250Z.
expect_eq "pcap: first_seen is capture time" \
	"$(jq -sr '[.[] | select(.type=="source")] | first | .first_seen' "$WORK/scan-en10mb.json")" \
	"2024-01-01T00:00:00.250Z"

# pcapng: libpcap cannot write it and no pcapng tool is installed (editcap and dumpcap come with
# Debian's wireshark packages), so make_capture writes the blocks itself (SHB, IDB, EPB), with
# microsecond or (--nano, if_tsresol 9) nanosecond timestamps; tcpdump reading all 20 packets
# back checks the writer independently of probescope.
for link in en10mb sll sll2 raw; do
	for res in us ns; do
		f=scan-$link-$res.pcapng
		mk scan -o "$C/$f" --link "$link" --format pcapng $([ $res = ns ] && echo --nano)
		expect_eq "$f: tcpdump reads it" "$(tcpdump -n -r "$C/$f" 2>/dev/null | wc -l)" 20
		replay "$f" "$C/$f"
		expect_eq "$f: packets (sum of classes)" "$(classes "$f")" 20
		expect_eq "$f: tcp_syn" "$(cls "$f" tcp_syn)" 20
		expect_eq "$f: verdict" "$(verdict "$f")" "$SCAN_VERDICT"
	done
done
expect_eq "pcapng ns: first_seen is capture time" \
	"$(jq -sr '[.[] | select(.type=="source")] | first | .first_seen' "$WORK/scan-en10mb-ns.pcapng.json")" \
	"2024-01-01T00:00:00.250Z"

# --- gzip, stdin, several files in order: the same counts as the plain file. ---
REF=$(signature scan-en10mb)
expect_eq "reference: the plain pcap's signature has the 20 SYNs and the scanner" \
	"$(jq -c '[.packets, .classes.tcp_syn, (.scanners | length)]' <<<"$REF")" "[20,20,1]"
same_as_ref() { # WHAT NAME
	local got
	got=$(signature "$2")
	if [ "$got" = "$REF" ]; then
		echo "ok   $1: same counts and verdict as the plain pcap"
	else
		echo "FAIL $1: got $got"; echo "     want $REF"; FAILED=1
	fi
}
gzip -c "$C/scan-en10mb.pcap" >"$C/scan.pcap.gz"
replay gz "$C/scan.pcap.gz"
same_as_ref ".pcap.gz (gzip)" gz
replay stdin - <"$C/scan-en10mb.pcap"
same_as_ref "stdin '-'" stdin
replay stdin-gz - <"$C/scan.pcap.gz"
same_as_ref "stdin '-', gzip'd" stdin-gz
mk scan -o "$C/scan.pcapng.gz" --format pcapng
replay pcapng-gz "$C/scan.pcapng.gz"
same_as_ref ".pcapng.gz (zlib)" pcapng-gz
# Records 1-8, 9-15 and 16-20 in three files of three formats, in order.
mk scan -o "$C/part1.pcap" --count 8
mk scan -o "$C/part2.pcapng.gz" --format pcapng --first 9 --count 7
mk scan -o "$C/part3.pcap" --first 16 --link sll2
replay parts "$C/part1.pcap" "$C/part2.pcapng.gz" "$C/part3.pcap"
same_as_ref "three files in order (pcap, pcapng.gz, SLL2 pcap)" parts
expect_err parts "three files: records counted" "replayed 20 records from 3 file(s)"
replay parts-stdin "$C/part1.pcap" - "$C/part3.pcap" <"$C/part2.pcapng.gz"
same_as_ref "three files, the middle one on stdin" parts-stdin

# --- A file cut in the middle of record 13: the 12 before it count. ---
mk scan -o "$C/cut.pcap" --truncate-after 12
replay cut "$C/cut.pcap"
expect_eq "cut pcap: exit status" "$RC" 0
expect_err cut "cut pcap: names file and record" "$C/cut.pcap: record 13:"
expect_eq "cut pcap: tcp_syn before the cut" "$(cls cut tcp_syn)" 12
expect_eq "cut pcap: packets (sum of classes)" "$(classes cut)" 12
replay cut-strict --strict "$C/cut.pcap"
[ "$RC" -ne 0 ] && echo "ok   cut pcap --strict: exit $RC" || { echo "FAIL cut pcap --strict: exit 0"; FAILED=1; }
expect_err cut-strict "cut pcap --strict: names file and record" "$C/cut.pcap: record 13:"
mk scan -o "$C/cut.pcapng" --format pcapng --truncate-after 12
replay cutng "$C/cut.pcapng"
expect_eq "cut pcapng: exit status" "$RC" 0
expect_err cutng "cut pcapng: names file and record" "$C/cut.pcapng: record 13:"
expect_eq "cut pcapng: tcp_syn before the cut" "$(cls cutng tcp_syn)" 12
# A gzip stream cut short: how many records inflate depends on the deflate blocks, so only
# the exit status, the message and "fewer than 20" are checked.
head -c $(($(stat -c %s "$C/scan.pcap.gz") - 40)) "$C/scan.pcap.gz" >"$C/cutgz.pcap.gz"
replay cutgz "$C/cutgz.pcap.gz"
expect_eq "cut .gz: exit status" "$RC" 0
expect_err cutgz "cut .gz: names file and record" "$C/cutgz.pcap.gz: record "
n=$(classes cutgz)
[ "$n" -lt 20 ] 2>/dev/null && echo "ok   cut .gz: $n packets before the cut" || { echo "FAIL cut .gz: $n packets"; FAILED=1; }

# --- Record 8's header claims a caplen of 0x7fffffff: the 7 before it count. ---
mk scan -o "$C/corrupt.pcap" --corrupt-record 8
replay corrupt "$C/corrupt.pcap"
expect_eq "corrupt record: exit status" "$RC" 0
expect_err corrupt "corrupt record: names file and record" "$C/corrupt.pcap: record 8:"
expect_eq "corrupt record: tcp_syn before it" "$(cls corrupt tcp_syn)" 7
replay corrupt-strict --strict "$C/corrupt.pcap"
[ "$RC" -ne 0 ] && echo "ok   corrupt record --strict: exit $RC" || { echo "FAIL corrupt record --strict: exit 0"; FAILED=1; }

# --- An unknown link type (DLT_IEEE802_11, 105): named, and the next file is still read. ---
mk scan -o "$C/wifi.pcap" --link ieee802_11
replay wifi "$C/wifi.pcap" "$C/scan-en10mb.pcap"
expect_err wifi "802.11: names file and link type" "$C/wifi.pcap: link type 105 (IEEE802_11) is not supported"
expect_eq "802.11 then a good file: tcp_syn of the good one" "$(cls wifi tcp_syn)" 20
replay wifi-strict --strict "$C/wifi.pcap"
[ "$RC" -ne 0 ] && echo "ok   802.11 --strict: exit $RC" || { echo "FAIL 802.11 --strict: exit 0"; FAILED=1; }
expect_err wifi-strict "802.11 --strict: names file and link type" "$C/wifi.pcap: link type 105"

# --- Snap length shorter than the headers: every packet malformed, none lost. ---
mk scan -o "$C/snap30.pcap" --snaplen 30  # Ethernet 14 + IPv4 20 + TCP 24 = 58 bytes
replay snap30 "$C/snap30.pcap"
expect_eq "snaplen 30: malformed" "$(cls snap30 malformed)" 20
expect_eq "snaplen 30: packets (sum of classes)" "$(classes snap30)" 20
expect_eq "snaplen 30: no scanner" "$(verdict snap30)" none
mk scan -o "$C/snap10-sll.pcap" --snaplen 10 --link sll  # cut inside the 16-byte cooked header
replay snap10-sll "$C/snap10-sll.pcap"
expect_eq "SLL snaplen 10: malformed" "$(cls snap10-sll malformed)" 20
expect_eq "SLL snaplen 10: packets (sum of classes)" "$(classes snap10-sll)" 20

# --- Time running backwards: every record stamped before the one ahead of it. ---
mk scan -o "$C/backwards.pcap" --reverse-time
replay backwards "$C/backwards.pcap"
expect_eq "backwards time: exit status" "$RC" 0
expect_eq "backwards time: tcp_syn" "$(cls backwards tcp_syn)" 20
expect_err backwards "backwards time: reported" "19 with time going backwards"

# --- The windows run on capture time. --scanlogd-weight 1000 in both runs switches the
# scanlogd rule off, so only the --window rule (distinct ports in 300 s) is compared. ---
mk scan -o "$C/slow.pcap" --spacing 30  # one SYN every 30 s: 20 ports over 9.5 minutes
replay slow "$C/slow.pcap" --window 300 --scanlogd-weight 1000
expect_eq "20 ports over 10 min: tcp_syn" "$(cls slow tcp_syn)" 20
expect_eq "20 ports over 10 min: no scanner" "$(verdict slow)" none
expect_eq "20 ports over 10 min: at most 10 ports in a window" \
	"$(jq -s '[.[] | select(.type=="source") | .distinct_ports.value] | max' "$WORK/slow.json")" 10
mk scan -o "$C/fast.pcap" --spacing 0.5  # 20 ports in 10 s
replay fast "$C/fast.pcap" --window 300 --scanlogd-weight 1000
expect_eq "20 ports in 10 s: verdict" "$(verdict fast)" "$SCAN_VERDICT"
expect_eq "20 ports in 10 s: rule" \
	"$(jq -sr '[.[] | select(.type=="scanner")] | first | .rule' "$WORK/fast.json")" \
	"distinct ports >= 15 in 300 s (Zeek)"

# --- --dst on a capture of both directions: the scanner's SYNs and the target's RST+ACKs. ---
mk replies -o "$C/replies.pcap"
replay both "$C/replies.pcap"
expect_eq "both directions: packets" "$(classes both)" 40
expect_eq "both directions: tcp_syn" "$(cls both tcp_syn)" 20
expect_eq "both directions: tcp_rst" "$(cls both tcp_rst)" 20
replay dst "$C/replies.pcap" --dst "$TARGET"
expect_eq "--dst $TARGET: packets" "$(classes dst)" 20
expect_eq "--dst $TARGET: tcp_syn" "$(cls dst tcp_syn)" 20
expect_eq "--dst $TARGET: tcp_rst" "$(cls dst tcp_rst)" 0
expect_eq "--dst $TARGET: sources" \
	"$(jq -sr '[.[] | select(.type=="source") | .src] | unique | join(" ")' "$WORK/dst.json")" "$SCANNER"
expect_eq "--dst $TARGET: verdict" "$(verdict dst)" "$SCAN_VERDICT"
replay dst-cidr "$C/replies.pcap" --dst 203.0.113.0/24
expect_eq "--dst 203.0.113.0/24: same as --dst $TARGET" "$(signature dst-cidr)" "$(signature dst)"

# --- --summary: the tables. 0.1 s between SYNs puts at most 10 ports in a 1 s interval, within
# the kernel's exact port set (16), so the source's port count is exact. ---
mk summary -o "$C/summary.pcap" --spacing 0.1  # the scan, then 198.51.100.20 SYNs to 22 and 80
printf 'ftp\t\t21/tcp\nssh\t\t22/tcp\nhttp\t\t80/tcp\n' >"$WORK/services"
"$PROBESCOPE" replay "$C/summary.pcap" --summary --services "$WORK/services" >"$WORK/summary.txt" \
	2>"$WORK/summary.err"
expect_eq "--summary: exit status" "$?" 0
# first_row TITLE: the first row under the column header that follows the line TITLE.
first_row() { awk -v t="$1" '$0 == t { n = NR } n && NR == n + 2 { print; exit }' "$WORK/summary.txt"; }
expect_eq "--summary: packets line" "$(head -1 "$WORK/summary.txt")" "Packets: 22"
expect_eq "--summary: top source row" "$(first_row "Top sources")" \
	"$(printf '%-40s %10s %8s  %s' $SCANNER 20 20 "syn vertical nmap")"
expect_eq "--summary: second source row" "$(awk 'NR == 6' "$WORK/summary.txt")" \
	"$(printf '%-40s %10s %8s  %s' 198.51.100.20 2 2 "")"
expect_eq "--summary: port row with its unique sources" "$(first_row "Ports : unique sources")" \
	"$(printf '%-12s %-14s %10s %8s' tcp/22 ssh 2 2)"
expect_eq "--summary: SYN flag row" "$(first_row "TCP flag combinations")" \
	"$(printf '%-36s %10s %6.2f%%' SYN 22 100)"
expect_eq "--summary: scanners line" "$(grep '^Scanners:' "$WORK/summary.txt")" "Scanners: 1"
expect_eq "--summary: no JSON on stdout" "$(grep -c '^{' "$WORK/summary.txt")" 0
replay summary-json "$C/summary.pcap" --summary
expect_eq "--summary -o FILE: JSON too" "$(classes summary-json)" 22

# --- --jobs: workers on several CPUs, each source's frames on one of them, give the records one
# worker gives. Six interleaved scanners and 200 spoofed one-SYN sources over 4 intervals. ---
mk sources -o "$C/sources.pcap"  # 320 SYNs, 0.01 s apart
# Every source and scanner record, in an order of their own (records of one interval come in
# the drain's order, which the kernel's hash seed sets).
sorted_records() {
	jq -sc '{stats: [.[] | select(.type=="stats") | {time, packets, classes, tcp_flags}],
		sources: ([.[] | select(.type=="source")] | sort_by(.time, .src)),
		scanners: ([.[] | select(.type=="scanner" or .type=="scanner_end")] | sort_by(.time, .src)),
		flood: [.[] | select(.type=="flood")]}' "$WORK/$1.json" 2>/dev/null || echo "no JSON"
}
# expect_same_records WHAT RUN REFERENCE: the two runs' records are the same, or a diff.
expect_same_records() {
	local got want
	got=$(sorted_records "$2")
	want=$(sorted_records "$3")
	if [ "$got" = "$want" ]; then
		echo "ok   $1: $(jq '[.[] | length] | add' <<<"$got") records, the same"
	else
		echo "FAIL $1:"
		diff <(jq -S . <<<"$want") <(jq -S . <<<"$got") | head -40
		FAILED=1
	fi
}
replay jobs1 --jobs 1 "$C/sources.pcap"
expect_eq "--jobs 1: packets" "$(classes jobs1)" 320
expect_eq "--jobs 1: the six scanners, each a vertical nmap scan" \
	"$(jq -sr '[.[] | select(.type=="scanner" and .pattern=="vertical" and .tool.name=="nmap") | .src] |
		unique | length' "$WORK/jobs1.json")" 6
expect_eq "--jobs 1: 206 sources" \
	"$(jq -sr '[.[] | select(.type=="source") | .src] | unique | length' "$WORK/jobs1.json")" 206
if [ "$(nproc)" -ge 2 ]; then
	replay jobs2 --jobs 2 "$C/sources.pcap"
	expect_eq "--jobs 2: exit status" "$RC" 0
	expect_same_records "--jobs 2: the records --jobs 1 gives" jobs2 jobs1
	replay jobs0 "$C/sources.pcap"  # the default: every usable CPU
	expect_same_records "--jobs left out ($(nproc) workers): the records --jobs 1 gives" jobs0 jobs1
else
	echo "FAIL --jobs 2 needs two CPUs; this machine has $(nproc)"
	FAILED=1
fi
replay jobs-many --jobs 4097 "$C/sources.pcap"
expect_eq "--jobs 4097: refused before loading" "$RC" 1
expect_err jobs-many "--jobs 4097: says how many CPUs it may use" "CPU(s)"

# --- replay --top: the live view's screens over the replayed records, until q (under tmux). ---
TMUX_SOCK=$WORK/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }
tm new-session -d -x 120 -y 40 -s replay "$PROBESCOPE replay $C/scan-en10mb.pcap --top; echo REPLAY-EXIT=\$?; sleep 30"
for _ in $(seq 50); do tm capture-pane -p -t replay | grep -q '198.51.100.10' && break; sleep 0.2; done
screen=$(tm capture-pane -p -t replay)
expect_eq "replay --top: the scanner's row is on screen" "$(grep -c '198.51.100.10 .*syn .*nmap' <<<"$screen")" 1
tm send-keys -t replay q
for _ in $(seq 50); do tm capture-pane -p -t replay | grep -q 'REPLAY-EXIT' && break; sleep 0.2; done
expect_eq "replay --top: q quits cleanly" "$(tm capture-pane -p -t replay | grep -o 'REPLAY-EXIT=[0-9]*')" "REPLAY-EXIT=0"
tm kill-server 2>/dev/null

exit $FAILED
