#!/usr/bin/env bash
# End to end: `probescope top` in a tmux pane against a lab namespace while real nmap and hping3
# scans run. Keys drive it (views, sort, filter, detail, windows, pause, help, quit);
# capture-pane checks what is on screen; after q, Ctrl-C, SIGTERM and a crash (SIGSEGV) the
# terminal must be back to a shell prompt with icanon and echo on. Three data paths: top alone
# (it attaches and drains itself), top next to a running `probescope run` (it reads the agent's
# record socket; a viewer that joins late first gets the open verdicts and recent events), and
# top over the pinned maps of a program that `run --persist` left attached. One run at 80x24
# with a terminal that has no colours.
# PROBESCOPE_TOP_CAPTURES=DIR keeps the captures (README.md shows them).
. "$(dirname "$0")/common.sh"
GEN=${3:?usage: $0 PROBESCOPE BPFGEN PROBESCOPE_GEN}
command -v tmux >/dev/null || { echo "FAIL tmux is not installed (scripts/deps.sh)"; exit 1; }

TM=(tmux -S "$WORK/tmux.sock" -f /dev/null)
CAPS=${PROBESCOPE_TOP_CAPTURES:-}
NET=198.51.100
PIN_ROOT=$WORK/bpffs/probescope

top_cleanup() {
	"${TM[@]}" kill-server 2>/dev/null  # our own server: its panes get SIGHUP, top detaches
	e2e_cleanup
}
trap top_cleanup EXIT

lab_up
lab_add_addrs
mount_private_bpffs
cat >"$WORK/research.json" <<JSON
{"description": "test list", "name": "Shodan", "type": "cidr", "list": ["$NET.28/32"]}
JSON

# A shell in a fixed-size pane, with a prompt we can recognise.
new_pane() {
	local name=$1 cols=$2 rows=$3 term=$4
	"${TM[@]}" new-session -d -s "$name" -x "$cols" -y "$rows" \
		"env -i PATH=$PATH HOME=$WORK TERM=$term LANG=C.UTF-8 PS1='top-e2e\$ ' bash --norc --noprofile"
	"${TM[@]}" set-option -t "$name" status off >/dev/null
	wait_screen "$name" 'top-e2e\$' 10 || exit 1
}
screen() { "${TM[@]}" capture-pane -p -t "$1"; }
keys() { local s=$1; shift; "${TM[@]}" send-keys -t "$s" "$@"; }
typed() { "${TM[@]}" send-keys -t "$1" -l "$2"; }
save() { [ -n "$CAPS" ] && mkdir -p "$CAPS" && screen "$1" | sed -e 's/[[:space:]]*$//' >"$CAPS/$2.txt"; return 0; }

# wait_screen SESSION REGEX SECS: polls the pane until the regex shows.
wait_screen() {
	local s=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		screen "$s" | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	echo "timed out after ${secs}s waiting for /$re/ on screen $s:" >&2
	screen "$s" >&2
	return 1
}
# wait_gone SESSION REGEX SECS
wait_gone() {
	local s=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		screen "$s" | grep -Eq -- "$re" || return 0
		sleep 0.1
	done
	return 1
}
shows() {
	local what=$1 s=$2 re=$3 secs=${4:-10}
	if wait_screen "$s" "$re" "$secs" 2>"$WORK/why"; then echo "ok   $what"; else
		echo "FAIL $what"; cat "$WORK/why"; FAILED=1; fi
}
lacks() {
	local what=$1 s=$2 re=$3
	if wait_gone "$s" "$re" 5; then echo "ok   $what"; else
		echo "FAIL $what: /$re/ still on screen"; screen "$s"; FAILED=1; fi
}
# The table row of a source: the line that starts with its address.
row() { screen "$1" | grep -E "^$2 " | head -1; }
row_has() {
	local what=$1 s=$2 addr=$3 re=$4 i
	for ((i = 0; i < 100; i++)); do
		row "$s" "$addr" | grep -Eq -- "$re" && { echo "ok   $what: $(row "$s" "$addr" | tr -s ' ')"; return; }
		sleep 0.1
	done
	echo "FAIL $what: row of $addr does not match /$re/"; screen "$s"; FAILED=1
}
# Line number of the first row of addr (0: absent).
line_of() { screen "$1" | grep -nE "^$2 " | head -1 | cut -d: -f1; }
# After q: no top on screen, the prompt back, the tty in canonical mode with echo.
terminal_restored() {
	local s=$1 what=$2
	lacks "$what: the view is gone at exit" "$s" 'F1 Sources|F2 Ports'
	typed "$s" "stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo :tty"
	keys "$s" Enter
	shows "$what: the shell has icanon and echo back" "$s" '^icanon echo :tty' 5
	keys "$s" C-l
}
nm() { in_scan nmap "$@" -T5 -n -Pn --max-retries 1 -e "$LAB_SCAN_IF" >/dev/null 2>&1; }

# ---- A: top alone attaches, drains and classifies in-process -------------------------------
new_pane A 120 40 screen
typed A "nsenter --net=/run/netns/$LAB_TGT $PROBESCOPE top --iface $LAB_TGT_IF --pin-root $PIN_ROOT \
--socket $WORK/top.sock --interval 0.5 --top-ports 200 --no-rdns --research-list $WORK/research.json \
2>$WORK/top-a.err"
keys A Enter
shows "A: top starts in-process" A 'probescope top .*in-process' 15
shows "A: XDP mode and cost in the header" A '(native|generic) XDP' 5

nsenter --net="/run/netns/$LAB_TGT" ncat -l -k "$LAB_TGT_IP" 80 >/dev/null 2>&1 &
LISTENER_PID=$!
nm -sS -S $NET.11 -p 1-40,80,443 "$LAB_TGT_IP"
nm -sU -S $NET.17 -p 1-20 "$LAB_TGT_IP"
nm -sS -S $NET.28 -p 1-30 "$LAB_TGT_IP"
in_scan hping3 -q -a $NET.14 -F -P -U -p ++100 -c 24 -i u20000 "$LAB_TGT_IP" >/dev/null 2>&1
in_scan hping3 -q -a $NET.24 -S -F -p 80 -c 4 -i u100000 "$LAB_TGT_IP" >/dev/null 2>&1
in_scan "$GEN" --iface "$LAB_SCAN_IF" --dst-mac "$LAB_TGT_MAC" --mode syn-flood --src 240.0.0.0/4 \
	--dst "$LAB_TGT_IP" --dport 8080 --count 3000 >/dev/null

# Sources: each scanner with its technique and tool.
row_has "A: nmap -sS source with technique and tool" A $NET.11 ' syn +nmap '
row_has "A: hping3 Xmas source" A $NET.14 ' xmas '
row_has "A: nmap -sU source" A $NET.17 ' udp '
row_has "A: research label" A $NET.28 'Shodan .* syn +nmap '
row_has "A: hping3 SYN+FIN to one port" A $NET.24 ' syn_fin '
shows "A: the map and scanner counts" A 'map .*evictions 0 .*scanners [1-9]' 5
shows "A: the agent's own cost in the header" A 'agent [0-9.]+% cpu  [0-9.]+[kMG]B rss  maps [0-9.]+MB' 5
save A sources
# Only the lab's scanners while sorting: the flood's first interval may hold fewer sources than
# a flood needs (flood_sources), and those are kept as sources; descending, 100 of them in
# 240.0.0.0/4 would push the scanners off the screen.
keys A /
typed A "$NET.0/24"
keys A Enter
shows "A: CIDR filter of the scanners" A "filter: $NET.0/24" 5
# Sort by address (three columns left of RATE), ascending, then reversed.
keys A '<' '<' '<'
shows "A: sort column moves to ADDRESS" A 'ADDRESS▲' 5
a=$(line_of A $NET.11) b=$(line_of A $NET.28)
[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] && echo "ok   A: ascending by address ($a < $b)" ||
	{ echo "FAIL A: ascending by address ($a, $b)"; FAILED=1; }
keys A r
shows "A: r reverses" A 'ADDRESS▼' 5
a=$(line_of A $NET.11) b=$(line_of A $NET.28)
[ -n "$a" ] && [ -n "$b" ] && [ "$a" -gt "$b" ] && echo "ok   A: descending by address ($a > $b)" ||
	{ echo "FAIL A: descending by address ($a, $b)"; FAILED=1; }
keys A s
shows "A: s moves to the next column" A 'LABEL▲' 5
# Filters: a CIDR, a port, a label.
keys A /
for _ in $(seq 20); do keys A BSpace; done
typed A "$NET.16/30"
keys A Enter
shows "A: CIDR filter shown" A "filter: $NET.16/30" 5
row_has "A: CIDR filter keeps $NET.17" A $NET.17 ' udp '
lacks "A: CIDR filter hides $NET.11" A "^$NET.11 "
keys A /
for _ in $(seq 20); do keys A BSpace; done
typed A "tcp/80"
keys A Enter
row_has "A: port filter keeps the source that hit tcp/80" A $NET.24 ' syn_fin '
lacks "A: port filter hides the UDP scanner" A "^$NET.17 "
keys A /
for _ in $(seq 20); do keys A BSpace; done
typed A "label:shodan"
keys A Enter
row_has "A: label filter keeps the research scanner" A $NET.28 'Shodan'
lacks "A: label filter hides the others" A "^$NET.11 "
# Detail of one source: its timeline, ports, evidence and rule.
keys A /
for _ in $(seq 20); do keys A BSpace; done
typed A "$NET.11"
keys A Enter
row_has "A: exact address filter" A $NET.11 'nmap'
keys A Enter
shows "A: Enter opens the detail" A "^ $NET.11 +SCANNER" 5
shows "A: detail shows the rule" A 'rule +.*(ports|weight) .*>=' 5
shows "A: detail shows the tool and its evidence" A 'tool +nmap \(confidence 100%\)' 5
shows "A: detail shows the evidence" A 'evidence .*nmap.s options' 5
shows "A: detail shows the timeline" A 'timeline 10 s ' 5
shows "A: detail shows its ports with services" A '^ tcp/[0-9]+ +[a-z]' 5
save A detail
keys A Escape
shows "A: Esc goes back to Sources" A 'ADDRESS' 5
keys A Escape
shows "A: Esc clears the filter" A "^$NET.28 " 5
# Views.
keys A F2
shows "A: F2 Ports with service names" A '^tcp/22 +ssh ' 5
shows "A: Ports lists UDP" A '^udp/[0-9]+ ' 5
save A ports
keys A F3
shows "A: F3 Flags: SYN" A '^SYN +2 ' 5
shows "A: F3 Flags: Xmas" A '^FIN-PSH-URG +41 ' 5
save A flags
keys A F4
shows "A: F4 Events: scanner verdicts" A "scanner +$NET.11 " 5
shows "A: F4 Events: the spoofed flood" A 'flood_start +tcp/8080 ' 5
save A events
keys A Tab
shows "A: Tab goes on to Detail" A "timeline|No source chosen" 5
keys A F1
shows "A: F1 back to Sources" A 'ADDRESS' 5
# Rate windows, pause, help.
keys A 3
shows "A: 3 chooses the 5 min window" A 'window 5 min' 5
keys A 2
shows "A: 2 chooses the 1 min window" A 'window 1 min' 5
keys A 1
shows "A: 1 chooses the 10 s window" A 'window 10 s' 5
keys A p
shows "A: p pauses" A 'PAUSED' 5
keys A p
lacks "A: p resumes" A 'PAUSED'
keys A '?'
shows "A: ? shows the help" A 'any key closes this help' 5
save A help
keys A x
lacks "A: any key closes the help" A 'any key closes this help'
# Resize: 80x24 follows. By label, the research scanner is the first row whatever else came.
"${TM[@]}" resize-window -t A -x 80 -y 24
shows "A: follows a resize to 80x24" A "^$NET.28 " 5
lines=$(screen A | wc -l)
expect_eq "A: 24 lines after the resize" "$lines" 24
shows "A: footer at 80 columns" A '^F1-5 View' 5
keys A q
terminal_restored A "A"
kill "$LISTENER_PID"; wait "$LISTENER_PID" 2>/dev/null
grep -q "detached from $LAB_TGT_IF" "$WORK/top-a.err" && echo "ok   A: top detached at exit" ||
	{ echo "FAIL A: no detach message"; cat "$WORK/top-a.err"; FAILED=1; }
expect_eq "A: no XDP program left" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c xdp)" 0
expect_eq "A: no pins left" "$(find "$PIN_ROOT" 2>/dev/null | wc -l)" 0
expect_eq "A: no socket left" "$(ls "$WORK/top.sock" 2>/dev/null | wc -l)" 0

# ---- B: top next to a running agent reads its socket ---------------------------------------
start_agent --no-rdns --socket "$WORK/agent.sock"
new_pane B 120 40 screen
typed B "nsenter --net=/run/netns/$LAB_TGT $PROBESCOPE top --iface $LAB_TGT_IF --pin-root $PIN_ROOT \
--socket $WORK/agent.sock 2>$WORK/top-b.err"
keys B Enter
shows "B: top reads the running agent" B "probescope top .*agent $WORK/agent.sock" 15
# An 80x24 pane with no colours watches the same agent.
new_pane C 80 24 xterm-mono
typed C "nsenter --net=/run/netns/$LAB_TGT $PROBESCOPE top --iface $LAB_TGT_IF --socket $WORK/agent.sock 2>$WORK/top-c.err"
keys C Enter
shows "C: 80x24 without colours starts" C 'probescope top' 15
sleep 1  # both viewers connected before the scans: they see the same records
nm -sF -S $NET.12 -p 1-30 "$LAB_TGT_IP"
in_scan hping3 -q -a $NET.24 -S -F -p 80 -c 4 -i u100000 "$LAB_TGT_IP" >/dev/null 2>&1
row_has "B: nmap -sF from the agent's records" B $NET.12 ' fin +nmap '
row_has "B: hping3 SYN+FIN, repeated" B $NET.24 ' syn_fin '
row_has "C: the same source at 80x24" C $NET.12 ' fin +nmap '
save C small
keys C Tab
shows "C: Tab to Ports" C '^tcp/[0-9]+ ' 5
keys C C-c
terminal_restored C "C (80x24, no colour, Ctrl-C)"
keys B F4
shows "B: Events from the agent" B "scanner +$NET.12 " 5
keys B q
terminal_restored B "B"
# SIGTERM from elsewhere: the terminal comes back too. The pane's shell started top.
new_pane D 100 30 screen
typed D "nsenter --net=/run/netns/$LAB_TGT $PROBESCOPE top --iface $LAB_TGT_IF --socket $WORK/agent.sock"
keys D Enter
shows "D: top started" D 'probescope top' 15
# D joined after the -sF scan was judged: the agent hands it the open verdicts and recent events.
row_has "D: a late viewer gets the open verdict" D $NET.12 ' fin +nmap '
keys D F4
shows "D: a late viewer gets the recent events" D "scanner +$NET.12 " 5
TOP_PID=$(pgrep -P "$("${TM[@]}" display-message -p -t D '#{pane_pid}')" | head -1)
[ -n "$TOP_PID" ] && kill -TERM "$TOP_PID"
terminal_restored D "D (SIGTERM)"
# A crash (SIGSEGV here, sent from outside) must not leave the terminal raw either.
new_pane E 100 30 screen
typed E "nsenter --net=/run/netns/$LAB_TGT $PROBESCOPE top --iface $LAB_TGT_IF --socket $WORK/agent.sock; echo exit=\$?"
keys E Enter
shows "E: top started" E 'probescope top' 15
TOP_PID=$(pgrep -P "$("${TM[@]}" display-message -p -t E '#{pane_pid}')" | head -1)
[ -n "$TOP_PID" ] && kill -SEGV "$TOP_PID"
shows "E: the crash is reported, not hidden" E 'exit=139' 5
terminal_restored E "E (SIGSEGV)"
stop_agent || { echo "FAIL agent exit status"; FAILED=1; }
tool=$(jq -rs "[.[] | select(.type==\"scanner\" and .src==\"$NET.12\")] | first | .tool.name + \" \" + .techniques[0]" "$WORK/out.json")
expect_eq "B: the agent's JSON says what top showed" "$tool" "nmap fin"
grep -q "attached to" "$WORK/top-b.err" && { echo "FAIL B: top attached a program of its own"; FAILED=1; } ||
	echo "ok   B: top did not attach a program of its own"
grep -q "dropped a record-socket client" "$WORK/agent.err" && { echo "FAIL B: the agent dropped a viewer"; FAILED=1; } ||
	echo "ok   B: no viewer dropped"
expect_eq "B: no XDP program left" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c xdp)" 0
expect_eq "B: no socket left" "$(ls "$WORK/agent.sock" 2>/dev/null | wc -l)" 0

# ---- F: top over a program that `run --persist` left attached (no agent running) -----------
start_agent --no-rdns --socket none --persist
stop_agent || { echo "FAIL F: agent exit status"; FAILED=1; }
expect_eq "F: the persisted program stays attached" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c xdp)" 1
new_pane F 120 40 screen
typed F "nsenter --net=/run/netns/$LAB_TGT $PROBESCOPE top --iface $LAB_TGT_IF --pin-root $PIN_ROOT --socket $WORK/top-f.sock --interval 0.5 --no-rdns 2>$WORK/top-f.err"
keys F Enter
shows "F: top reads the persistent link's maps" F 'probescope top .*persistent' 15
nm -sN -S $NET.13 -p 1-30 "$LAB_TGT_IP"
row_has "F: nmap -sN through the pinned maps" F $NET.13 ' null +nmap '
keys F q
terminal_restored F "F"
grep -q "stopped reading the persistent probescope on $LAB_TGT_IF" "$WORK/top-f.err" &&
	echo "ok   F: top left the persistent program alone" || { echo "FAIL F: exit message"; cat "$WORK/top-f.err"; FAILED=1; }
expect_eq "F: still attached after top" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c xdp)" 1
in_tgt "$PROBESCOPE" detach --iface "$LAB_TGT_IF" --pin-root "$PIN_ROOT" 2>/dev/null
expect_eq "F: detach removes it" "$(in_tgt ip -o link show "$LAB_TGT_IF" | grep -c xdp)" 0
expect_eq "F: no pins left" "$(find "$PIN_ROOT" -mindepth 1 2>/dev/null | wc -l)" 0
umount_private_bpffs
exit $FAILED
