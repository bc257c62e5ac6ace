// TopView: ncurses drawing and keys. Every redraw erases and repaints the virtual screen and
// lets curses send only the difference, so nothing flickers.
#include "top_view.h"

#include <curses.h>
#include <langinfo.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "error.h"
#include "names.h"

namespace probescope {

// ---- terminal ----

namespace {

termios g_saved_tty;
bool g_have_tty = false;

void crash_handler(int sig) {
    // Only async-signal-safe calls: put the terminal back, leave the alternate screen.
    if (g_have_tty) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tty);
    static const char restore[] = "\033[0m\033[?25h\033[?1049l\r\n";
    ssize_t ignored = write(STDOUT_FILENO, restore, sizeof(restore) - 1);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
}

enum Pair : short { kHeader = 1, kScanner, kBackscatter, kSelected, kTab, kSpark, kDim, kTitle };

}  // namespace

void install_crash_restore() {
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, crash_handler);
}

TopScreen::TopScreen() {
    setlocale(LC_ALL, "");
    utf8_ = std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    if (tcgetattr(STDIN_FILENO, &g_saved_tty) == 0) g_have_tty = true;
    // newterm, not initscr: initscr exits the process on an unknown $TERM, which would skip
    // the destructors that detach the program and remove its pins.
    const char* term = getenv("TERM");
    screen_ = newterm(nullptr, stdout, stdin);
    if (!screen_)
        throw Error(std::string("cannot drive the terminal type '") + (term ? term : "") + "'",
                    "set TERM to a terminal type this system knows, e.g. TERM=xterm");
    set_term(screen_);
    install_crash_restore();
    set_escdelay(25);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    const char* no_colour = getenv("NO_COLOR");
    if (has_colors() && !(no_colour && *no_colour)) {
        start_color();
        use_default_colors();
        init_pair(kHeader, COLOR_CYAN, -1);
        init_pair(kScanner, COLOR_RED, -1);
        init_pair(kBackscatter, COLOR_YELLOW, -1);
        init_pair(kSelected, COLOR_BLACK, COLOR_CYAN);
        init_pair(kTab, COLOR_BLACK, COLOR_GREEN);
        init_pair(kSpark, COLOR_GREEN, -1);
        init_pair(kDim, COLOR_BLUE, -1);
        init_pair(kTitle, COLOR_BLACK, COLOR_WHITE);
        colour_ = true;
    }
}

TopScreen::~TopScreen() {
    endwin();
    delscreen(screen_);
    if (g_have_tty) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tty);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, SIG_DFL);
}

// ---- formatting ----

namespace {

std::string fmt_count(uint64_t n) {
    char buf[32];
    if (n < 100000)
        snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(n));
    else if (n < 10000000)
        snprintf(buf, sizeof(buf), "%.1fk", n / 1e3);
    else if (n < 10000000000ull)
        snprintf(buf, sizeof(buf), "%.1fM", n / 1e6);
    else
        snprintf(buf, sizeof(buf), "%.1fG", n / 1e9);
    return buf;
}

std::string fmt_rate(double r) {
    char buf[32];
    if (r <= 0) return "0";
    if (r < 10)
        snprintf(buf, sizeof(buf), "%.1f", r);
    else if (r < 100000)
        snprintf(buf, sizeof(buf), "%.0f", r);
    else if (r < 1e7)
        snprintf(buf, sizeof(buf), "%.1fk", r / 1e3);
    else
        snprintf(buf, sizeof(buf), "%.1fM", r / 1e6);
    return buf;
}

std::string fmt_age(int64_t ms) {
    if (ms < 0) ms = 0;
    int64_t s = ms / 1000;
    char buf[32];
    if (s < 60)
        snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
    else if (s < 3600)
        snprintf(buf, sizeof(buf), "%lldm", static_cast<long long>(s / 60));
    else if (s < 86400)
        snprintf(buf, sizeof(buf), "%lldh", static_cast<long long>(s / 3600));
    else
        snprintf(buf, sizeof(buf), "%lldd", static_cast<long long>(s / 86400));
    return buf;
}

std::string clock_text(int64_t unix_ms) {
    if (unix_ms <= 0) return "--:--:--";
    time_t t = static_cast<time_t>(unix_ms / 1000);
    tm local{};
    localtime_r(&t, &local);
    char buf[16];
    strftime(buf, sizeof(buf), "%H:%M:%S", &local);
    return buf;
}

// Printable ASCII only: names from the network (reverse DNS) never reach the terminal raw.
std::string clean(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    return out;
}

std::string fit(std::string_view s, int width, bool right = false) {
    if (width <= 0) return {};
    std::string out = clean(s);
    auto w = static_cast<size_t>(width);
    if (out.size() > w) {
        out.resize(w);
        if (w > 1) out[w - 1] = '~';
        return out;
    }
    if (right) return std::string(w - out.size(), ' ') + out;
    return out + std::string(w - out.size(), ' ');
}

// Writes s at (y, x), clipped to the screen's width; returns the column after it.
int put(int y, int x, std::string_view s, attr_t attr = A_NORMAL, short pair = 0) {
    if (y < 0 || y >= LINES || x >= COLS) return x;
    int room = COLS - x;
    std::string t = clean(s);
    if (static_cast<int>(t.size()) > room) t.resize(static_cast<size_t>(room));
    attr_set(attr, pair, nullptr);
    mvaddnstr(y, x, t.c_str(), static_cast<int>(t.size()));
    attr_set(A_NORMAL, 0, nullptr);
    return x + static_cast<int>(t.size());
}

// Like put, for strings that may hold UTF-8 (sparklines); `cells` is their width on screen.
int put_raw(int y, int x, const std::string& s, int cells, attr_t attr, short pair) {
    if (y < 0 || y >= LINES || x + cells > COLS) return x;
    attr_set(attr, pair, nullptr);
    mvaddstr(y, x, s.c_str());
    attr_set(A_NORMAL, 0, nullptr);
    return x + cells;
}

const char* class_short(unsigned c) {
    static const char* names[PS_CLASS_COUNT] = {"syn",    "odd", "udp",     "echo", "ack",
                                                "synack", "rst", "icmperr", "est",  "icmp",
                                                "frag",   "ip",  "nonip",   "bad"};
    return c < PS_CLASS_COUNT ? names[c] : "?";
}

// Column widths for a table at the current width; flexible columns share what is left.
std::vector<int> widths(TopTable t, int cols) {
    switch (t) {
        case TopTable::Sources: {
            // ADDRESS LABEL PACKETS RATE PORTS DSTS TECHNIQUE TOOL LAST
            int fixed = 8 + 7 + 6 + 5 + 8 + 5 + 8;  // and 8 separators
            int rest = std::max(24, cols - fixed);
            int addr = std::clamp(rest * 2 / 5, 15, 39);
            int tech = std::max(9, rest / 4);
            int label = std::max(1, rest - addr - tech);
            return {addr, label, 8, 7, 6, 5, tech, 8, 5};
        }
        case TopTable::Ports:
            return {10, 16, 9, 8, 10, 8};
        case TopTable::Flags:
            return {28, 6, 10, 7, 10};
        case TopTable::Events: {
            int rest = std::max(10, cols - 8 - 11 - 3);
            int subj = std::clamp(rest / 4, 15, 39);
            return {8, 11, subj, std::max(1, rest - subj)};
        }
    }
    return {};
}

}  // namespace

// ---- view ----

TopView::TopView(const TopModel& model, bool colour, bool utf8)
    : model_(model), colour_(colour), utf8_(utf8) {
    for (int t = 0; t < 4; ++t) {
        tables_[t].sort = default_sort(static_cast<TopTable>(t));
        tables_[t].descending = true;
    }
}

TopTable TopView::table() const {
    switch (screen_) {
        case Screen::Ports:
            return TopTable::Ports;
        case Screen::Flags:
            return TopTable::Flags;
        case Screen::Events:
            return TopTable::Events;
        default:
            return TopTable::Sources;
    }
}

int TopView::body_rows() const { return std::max(1, LINES - 7); }

TopQuery TopView::query(const TableState& st, size_t rows) const {
    TopQuery q;
    q.filter = filter_;
    q.sort = st.sort;
    q.descending = st.descending;
    q.window = window_;
    q.offset = st.top;
    q.limit = rows;
    return q;
}

void TopView::switch_to(Screen s) {
    if (s == Screen::Detail && screen_ != Screen::Detail) back_ = screen_;
    if (s == Screen::Detail) open_detail();  // the row under the cursor, if there is one
    screen_ = s;
    detail_top_ = 0;
}

void TopView::open_detail() {
    // The row under the cursor, in the Sources or Events view.
    if (screen_ == Screen::Sources && !shown_sources_.empty()) {
        size_t i = tables_[0].cursor - std::min(tables_[0].cursor, shown_first_);
        if (i < shown_sources_.size()) detail_ = shown_sources_[i];
    } else if (screen_ == Screen::Events && !shown_events_.empty()) {
        size_t i = tables_[3].cursor - std::min(tables_[3].cursor, shown_first_);
        if (i < shown_events_.size() && shown_events_[i]) detail_ = shown_events_[i];
    }
}

void TopView::move_cursor(long delta) {
    if (screen_ == Screen::Detail) {
        long top = static_cast<long>(detail_top_) + delta;
        long max = std::max(0L, static_cast<long>(detail_lines_) - body_rows());
        detail_top_ = static_cast<size_t>(std::clamp(top, 0L, max));
        return;
    }
    TableState& st = state();
    long n = static_cast<long>(last_matching_);
    long c = std::clamp(static_cast<long>(st.cursor) + delta, 0L, std::max(0L, n - 1));
    st.cursor = static_cast<size_t>(c);
}

bool TopView::on_key(int key) {
    if (editing_) {
        switch (key) {
            case 27:  // Esc: back to the filter in force
                editing_ = false;
                return true;
            case '\n':
            case '\r':
            case KEY_ENTER:
                editing_ = false;
                filter_ = edit_;
                for (auto& t : tables_) t.cursor = t.top = 0;
                return true;
            case KEY_BACKSPACE:
            case 127:
            case 8:
                if (!edit_.empty()) edit_.pop_back();
                return true;
            default:
                if (key >= 0x20 && key < 0x7f && edit_.size() < 64) edit_ += static_cast<char>(key);
                return true;
        }
    }
    if (help_ && key != KEY_RESIZE) {
        help_ = false;
        if (key != 'q' && key != 'Q') return true;
    }
    const int page = body_rows() - 1;
    switch (key) {
        case 'q':
        case 'Q':
            return false;
        case '?':
            help_ = true;
            break;
        case KEY_F(1):
            switch_to(Screen::Sources);
            break;
        case KEY_F(2):
            switch_to(Screen::Ports);
            break;
        case KEY_F(3):
            switch_to(Screen::Flags);
            break;
        case KEY_F(4):
            switch_to(Screen::Events);
            break;
        case KEY_F(5):
            switch_to(Screen::Detail);
            break;
        case '\t':
            switch_to(static_cast<Screen>((static_cast<int>(screen_) + 1) % 5));
            break;
        case KEY_BTAB:
            switch_to(static_cast<Screen>((static_cast<int>(screen_) + 4) % 5));
            break;
        case '1':
            window_ = RateWindow::Sec10;
            break;
        case '2':
            window_ = RateWindow::Min1;
            break;
        case '3':
            window_ = RateWindow::Min5;
            break;
        case '/':
            editing_ = true;
            edit_ = filter_;
            break;
        case 'p':
        case 'P':
        case ' ':
            paused_ = !paused_;
            break;
        case 's':
        case '>':
        case '<': {
            if (screen_ == Screen::Detail) break;
            TableState& st = state();
            int n = static_cast<int>(table_columns(table()).size());
            st.sort = (st.sort + (key == '<' ? n - 1 : 1)) % n;
            st.descending = table_columns(table())[static_cast<size_t>(st.sort)].numeric;
            st.cursor = st.top = 0;
            break;
        }
        case 'r':
        case 'R':
            if (screen_ != Screen::Detail) state().descending = !state().descending;
            break;
        case KEY_UP:
        case 'k':
            move_cursor(-1);
            break;
        case KEY_DOWN:
        case 'j':
            move_cursor(1);
            break;
        case KEY_PPAGE:
            move_cursor(-page);
            break;
        case KEY_NPAGE:
            move_cursor(page);
            break;
        case KEY_HOME:
        case 'g':
            move_cursor(-(1L << 40));
            break;
        case KEY_END:
        case 'G':
            move_cursor(1L << 40);
            break;
        case '\n':
        case '\r':
        case KEY_ENTER:
            if (screen_ == Screen::Sources || screen_ == Screen::Events) {
                auto before = detail_;
                detail_.reset();
                open_detail();
                if (!detail_)
                    detail_ = before;
                else
                    switch_to(Screen::Detail);
            }
            break;
        case 27:
        case KEY_BACKSPACE:
        case 127:
        case 8:
        case KEY_LEFT:
            if (screen_ == Screen::Detail)
                screen_ = back_;
            else if (key == 27)
                filter_.clear();
            break;
        default:
            break;
    }
    return true;
}

std::string TopView::sparkline(const std::vector<double>& v) const {
    static const char* blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                   "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[] = "_.-:=+*#";
    double max = 0;
    for (double x : v) max = std::max(max, x);
    std::string out;
    for (double x : v) {
        int level = max > 0 ? static_cast<int>(std::lround(x / max * 7)) : 0;
        level = std::clamp(level, 0, 7);
        if (x > 0 && level == 0) level = 1;  // any traffic shows
        if (x <= 0)
            out += ' ';
        else if (utf8_)
            out += blocks[level];
        else
            out += (x <= 0 ? ' ' : ascii[level]);
    }
    return out;
}

void TopView::draw_header(const TopStatus& st) {
    const attr_t bold = A_BOLD;
    // Line 0: where, how, when; the clock at the right edge.
    char buf[160];
    const std::string clock = clock_text(model_.now_ms());
    const int right = COLS - static_cast<int>(clock.size()) - 1;
    int x = put(0, 0, " probescope top ", colour_ ? A_BOLD : A_REVERSE, colour_ ? kTitle : 0);
    x = put(0, x + 1, st.iface, bold);
    x = put(0, x + 2, st.xdp_mode + " XDP");
    snprintf(buf, sizeof(buf), "every %.3gs  window %s", model_.interval_s(), window_name(window_));
    x = put(0, x + 2, buf);
    if (paused_) {
        snprintf(buf, sizeof(buf), "PAUSED (%llu held%s)", static_cast<unsigned long long>(st.held),
                 st.skipped ? ", some skipped" : "");
        x = put(0, x + 2, buf, A_BOLD | A_REVERSE);
    }
    int room = right - (x + 2) - 1;
    const std::string& src =
        static_cast<int>(st.source.size()) <= room ? st.source : st.source_short;
    if (room > 4) put(0, x + 2, fit(src, room), A_NORMAL, colour_ ? kDim : 0);
    put(0, right, clock);

    // Line 1: packets per second with a sparkline, the total, the program's own cost.
    x = put(1, 0, " pps ", bold, colour_ ? kHeader : 0);
    x = put(1, x, fit(fmt_rate(model_.rate(window_)), 7, true), bold);
    int spark_w = std::clamp(COLS / 4, 10, 40);
    auto slices = model_.rate_slices(
        window_, static_cast<size_t>(std::min<int64_t>(spark_w, window_seconds(window_))));
    std::string sl = sparkline(slices);
    x = put_raw(1, x + 1, sl, static_cast<int>(slices.size()), A_NORMAL, colour_ ? kSpark : 0);
    snprintf(buf, sizeof(buf), "  total %s", fmt_count(model_.total_packets()).c_str());
    x = put(1, x, buf);
    x = put(1, x + 2, "XDP cost ", bold, colour_ ? kHeader : 0);
    if (st.xdp_ns_per_packet)
        snprintf(buf, sizeof(buf), "%.0f ns/pkt", *st.xdp_ns_per_packet);
    else
        snprintf(buf, sizeof(buf), "%s", st.cost_note.empty() ? "-" : st.cost_note.c_str());
    x = put(1, x, buf);
    // The agent's own cost, as htop would show it: CPU over the interval (above 100%, it cannot
    // keep up), resident memory, and the kernel's charge for the maps.
    if (const auto& a = model_.agent_cost(); a.known) {
        x = put(1, x + 2, "agent ", bold, colour_ ? kHeader : 0);
        const double pct = a.cpu_share * 100;
        snprintf(buf, sizeof(buf), "%.*f%% cpu  %sB rss  maps %sB", pct < 10 ? 1 : 0, pct,
                 fmt_count(a.rss_bytes).c_str(), fmt_count(a.maps_bytes).c_str());
        put(1, x, buf, a.cpu_share > 1 ? A_BOLD : A_NORMAL);
    }

    // Line 2: per class.
    x = put(2, 0, " by class ", bold, colour_ ? kHeader : 0);
    static const unsigned order[] = {
        PS_CLASS_TCP_SYN,   PS_CLASS_TCP_ODD,    PS_CLASS_TCP_ACK_PROBE, PS_CLASS_UDP,
        PS_CLASS_ICMP_ECHO, PS_CLASS_TCP_SYNACK, PS_CLASS_TCP_RST,       PS_CLASS_ICMP_ERROR,
        PS_CLASS_TCP_OTHER, PS_CLASS_ICMP_OTHER, PS_CLASS_FRAGMENT,      PS_CLASS_OTHER_IP,
        PS_CLASS_NON_IP,    PS_CLASS_MALFORMED};
    for (unsigned c : order) {
        double r = model_.rate(window_, static_cast<int>(c));
        x = put(2, x, class_short(c), A_NORMAL, colour_ ? kDim : 0);
        x = put(2, x + 1, fmt_rate(r), r > 0 ? A_BOLD : A_NORMAL) + 2;
    }

    // Line 3: the kernel map, and what the model holds.
    const auto& m = model_.map();
    x = put(3, 0, " map ", bold, colour_ ? kHeader : 0);
    snprintf(buf, sizeof(buf), "%.1f%% (%s/%s)  evictions %s", m.fill * 100,
             fmt_count(m.drained).c_str(), fmt_count(m.capacity).c_str(),
             fmt_count(m.evictions).c_str());
    x = put(3, x, buf, m.evictions ? A_BOLD : A_NORMAL);
    if (m.insert_failures) {
        snprintf(buf, sizeof(buf), "  insert failures %s", fmt_count(m.insert_failures).c_str());
        x = put(3, x, buf, A_BOLD);
    }
    snprintf(buf, sizeof(buf), "  sources %s  scanners %zu  ports %s",
             fmt_count(model_.source_count()).c_str(), model_.scanner_count(),
             fmt_count(model_.port_count()).c_str());
    x = put(3, x, buf);
    if (!st.note.empty()) put(3, x + 2, st.note, A_BOLD);
}

void TopView::draw_tabs() {
    static const char* names[] = {"Sources", "Ports", "Flags", "Events", "Detail"};
    int x = 0;
    for (int i = 0; i < 5; ++i) {
        bool on = static_cast<int>(screen_) == i;
        char buf[32];
        snprintf(buf, sizeof(buf), " F%d %s ", i + 1, names[i]);
        x = put(4, x, buf, on ? (A_BOLD | (colour_ ? A_NORMAL : A_REVERSE)) : A_NORMAL,
                on && colour_ ? kTab : 0);
    }
    if (!filter_.empty() && screen_ == Screen::Detail) {
        std::string f = " filter: " + filter_ + " ";
        put(4, std::max(x + 1, COLS - static_cast<int>(f.size())), f, A_BOLD | A_REVERSE);
    }
}

void TopView::draw_table() {
    TableState& st = state();
    const TopTable t = table();
    const auto& cols = table_columns(t);
    const auto w = widths(t, COLS);
    const int rows = std::max(1, LINES - 7);
    const int y0 = 6;

    // Column titles, the sort column marked (a one-cell placeholder, so widths count cells).
    std::string head;
    for (size_t c = 0; c < cols.size(); ++c) {
        std::string cell = cols[c].title;
        if (static_cast<int>(c) == st.sort) cell += '\x01';
        if (static_cast<int>(cell.size()) > w[c])
            cell = std::string(cols[c].title).substr(0, static_cast<size_t>(w[c]));
        size_t pad = static_cast<size_t>(w[c]) - cell.size();
        cell = cols[c].numeric ? std::string(pad, ' ') + cell : cell + std::string(pad, ' ');
        head += cell + (c + 1 < cols.size() ? " " : "");
    }
    if (static_cast<int>(head.size()) > COLS) head.resize(static_cast<size_t>(COLS));
    if (auto at = head.find('\x01'); at != std::string::npos)
        head.replace(at, 1, st.descending ? (utf8_ ? "\u25bc" : "v") : (utf8_ ? "\u25b2" : "^"));
    attr_set(A_REVERSE | A_BOLD, 0, nullptr);
    mvhline(5, 0, ' ', COLS);
    mvaddstr(5, 0, head.c_str());
    attr_set(A_NORMAL, 0, nullptr);

    // Keep the cursor on screen; query only the rows shown.
    auto fix_top = [&](size_t matching) {
        if (matching == 0) {
            st.cursor = st.top = 0;
            return;
        }
        st.cursor = std::min(st.cursor, matching - 1);
        if (st.cursor < st.top) st.top = st.cursor;
        if (st.cursor >= st.top + static_cast<size_t>(rows))
            st.top = st.cursor - static_cast<size_t>(rows) + 1;
    };
    fix_top(last_matching_);
    std::vector<std::vector<std::string>> cells;
    std::vector<std::pair<attr_t, short>> styles;
    bool filter_applies = true;
    size_t matching = 0;
    shown_sources_.clear();
    shown_events_.clear();
    auto take_counts = [&](auto& page) {
        matching = page.matching;
        filter_applies = page.filter_applies;
    };
    for (int pass = 0; pass < 2; ++pass) {
        cells.clear();
        styles.clear();
        shown_sources_.clear();
        shown_events_.clear();
        const TopQuery q = query(st, static_cast<size_t>(rows));
        switch (t) {
            case TopTable::Sources: {
                auto page = model_.sources(q);
                take_counts(page);
                for (const auto& r : page.rows) {
                    const TopSource& s = *r.s;
                    shown_sources_.push_back(s.addr);
                    cells.push_back({s.src, s.label(), fmt_count(s.packets), fmt_rate(r.rate),
                                     std::to_string(s.ports) + (s.ports_exact ? "" : "~"),
                                     std::to_string(s.dsts) + (s.dsts_exact ? "" : "~"),
                                     s.technique().empty() ? "-" : s.technique(),
                                     s.tool().empty() ? "-" : s.tool(),
                                     fmt_age(model_.now_ms() - s.last_seen_ms)});
                    if (s.verdict && !s.ended)
                        styles.push_back({A_BOLD, colour_ ? kScanner : 0});
                    else if (s.backscatter)
                        styles.push_back({A_NORMAL, colour_ ? kBackscatter : 0});
                    else
                        styles.push_back({A_NORMAL, 0});
                }
                break;
            }
            case TopTable::Ports: {
                auto page = model_.ports(q);
                take_counts(page);
                for (const auto& r : page.rows) {
                    const TopPort& p = *r.p;
                    cells.push_back({port_text(p.proto, p.port),
                                     p.service.empty() ? "-" : p.service, fmt_count(r.packets),
                                     fmt_rate(r.rate), fmt_count(p.total_packets),
                                     fmt_count(p.sources)});
                    styles.push_back({A_NORMAL, 0});
                }
                break;
            }
            case TopTable::Flags: {
                auto page = model_.flags(q);
                take_counts(page);
                for (const auto& r : page.rows) {
                    char share[16];
                    snprintf(share, sizeof(share), "%.1f%%", r.share * 100);
                    cells.push_back({r.name, std::to_string(r.value), fmt_count(r.packets), share,
                                     fmt_count(r.total)});
                    styles.push_back({A_NORMAL, 0});
                }
                break;
            }
            case TopTable::Events: {
                auto page = model_.events(q);
                take_counts(page);
                for (const auto& r : page.rows) {
                    const TopEvent& e = *r.e;
                    shown_events_.push_back(e.addr);
                    cells.push_back({clock_text(e.time_ms), e.type, e.subject, e.text});
                    bool hot =
                        e.type == "scanner" || e.type == "verdict" || e.type == "flood_start";
                    styles.push_back(
                        {hot ? A_BOLD : A_NORMAL, colour_ ? (e.type == "backscatter" ? kBackscatter
                                                             : hot                   ? kScanner
                                                                                     : 0)
                                                          : 0});
                }
                break;
            }
        }
        size_t before = st.top;
        last_matching_ = matching;
        fix_top(matching);
        if (st.top == before) break;  // else the cursor moved the window: query again
    }
    shown_first_ = st.top;

    for (size_t i = 0; i < cells.size(); ++i) {
        std::string line;
        for (size_t c = 0; c < cells[i].size(); ++c)
            line += fit(cells[i][c], w[c], cols[c].numeric) + (c + 1 < cells[i].size() ? " " : "");
        int y = y0 + static_cast<int>(i);
        bool selected = st.top + i == st.cursor;
        attr_t a = styles[i].first;
        short pair = styles[i].second;
        if (selected) {
            a = colour_ ? A_BOLD : (A_REVERSE | A_BOLD);
            pair = colour_ ? kSelected : 0;
            attr_set(a, pair, nullptr);
            mvhline(y, 0, ' ', COLS);
            attr_set(A_NORMAL, 0, nullptr);
        }
        put(y, 0, line, a, pair);
    }
    if (cells.empty()) {
        std::string msg = model_.records() == 0 ? "waiting for the first interval..."
                          : !filter_applies
                              ? "the filter '" + filter_ + "' does not apply to this view"
                          : !filter_.empty() ? "nothing matches '" + filter_ + "'"
                                             : "nothing yet";
        put(y0 + 1, 2, msg, A_BOLD);
    }
    // Position on the tab line, right: "12-30 of 1234", after the filter if there is one.
    char pos[64];
    if (matching)
        snprintf(pos, sizeof(pos), "%zu-%zu of %zu ", st.top + 1, st.top + cells.size(), matching);
    else
        snprintf(pos, sizeof(pos), "0 of 0 ");
    std::string right = (filter_.empty() ? std::string() : " filter: " + filter_ + "  ") + pos;
    put(4, std::max(55, COLS - static_cast<int>(right.size())), right, A_NORMAL,
        colour_ ? kDim : 0);
    if (!filter_.empty())
        put(4, std::max(55, COLS - static_cast<int>(right.size())), " filter: " + filter_ + " ",
            A_BOLD | A_REVERSE);
}

void TopView::draw_detail() {
    std::vector<std::pair<std::string, attr_t>> lines;
    auto add = [&](std::string s, attr_t a = A_NORMAL) { lines.emplace_back(std::move(s), a); };
    const TopSource* s = detail_ ? model_.source(*detail_) : nullptr;
    int spark_row = -1;
    std::string spark;
    size_t spark_cells = 0;
    if (!detail_) {
        add("No source chosen: select one in Sources (F1) or Events (F4) and press Enter.", A_BOLD);
    } else if (!s) {
        add(format_addr(detail_->data()) +
                " is no longer tracked (quiet, or dropped to bound memory).",
            A_BOLD);
    } else {
        const TopVerdict* v = s->verdict.get();
        std::string state = v ? (s->ended ? "scanner (ended)" : "SCANNER")
                              : (s->backscatter ? "backscatter victim" : "source");
        add(s->src + "   " + state + (s->label().empty() ? "" : "   " + s->label()), A_BOLD);
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "first seen %s   last seen %s (%s ago)   packets %s   rate %s/s over %s",
                 clock_text(s->first_seen_ms).c_str(), clock_text(s->last_seen_ms).c_str(),
                 fmt_age(model_.now_ms() - s->last_seen_ms).c_str(), fmt_count(s->packets).c_str(),
                 fmt_rate(model_.source_rate(*s, window_)).c_str(), window_name(window_));
        add(buf);
        int64_t span = window_seconds(window_);
        size_t columns =
            static_cast<size_t>(std::clamp<int64_t>(std::min<int64_t>(COLS - 24, span), 1, span));
        auto sl = model_.source_slices(*s, window_, columns);
        double peak = 0;
        for (double x : sl) peak = std::max(peak, x);
        snprintf(buf, sizeof(buf), "timeline %-5s ", window_name(window_));
        spark_row = static_cast<int>(lines.size());
        spark = sparkline(sl);
        spark_cells = sl.size();
        add(buf);
        lines.back().first += std::string(spark_cells, ' ') + "  peak " + fmt_rate(peak) + "/s";
        std::string classes = "classes  ";
        for (unsigned c = 0; c < PS_SRC_CLASS_COUNT; ++c)
            classes += std::string(class_name(c)) + " " + fmt_count(s->total[c]) + "  ";
        add(classes);
        add("distinct " + std::to_string(s->ports) + (s->ports_exact ? "" : " (estimate)") +
            " ports, " + std::to_string(s->dsts) + (s->dsts_exact ? "" : " (estimate)") +
            " destinations in its window");
        add("");
        if (v) {
            std::string tech;
            for (const auto& t : v->techniques) tech += (tech.empty() ? "" : ", ") + t;
            snprintf(
                buf, sizeof(buf),
                "verdict  %s scan; technique %s; repeated %s; detected after %.2f s; %u change%s",
                v->pattern.empty() ? "a" : v->pattern.c_str(), tech.empty() ? "-" : tech.c_str(),
                v->repeated ? "yes" : "no", v->detect_s, v->changes, v->changes == 1 ? "" : "s");
            add(buf, A_BOLD);
            add("rule     " + v->rule);
            if (v->numbers.is_object()) {
                std::string n = "numbers  ";
                for (const auto& [k, val] : v->numbers.items()) n += k + " " + val.dump() + "  ";
                add(n);
            }
            if (!v->tool.empty()) {
                snprintf(buf, sizeof(buf), "tool     %s (confidence %.0f%%)", v->tool.c_str(),
                         v->tool_confidence * 100);
                add(buf, A_BOLD);
                add("evidence " + v->tool_evidence);
            } else {
                add("tool     - (no TCP probe)");
            }
            if (v->fingerprint.is_object()) {
                std::string hits = "fingerprint  tcp_probes " +
                                   v->fingerprint.value("tcp_probes", nlohmann::json(0)).dump() +
                                   ";";
                if (auto h = v->fingerprint.find("hits");
                    h != v->fingerprint.end() && h->is_object())
                    for (const auto& [k, val] : h->items()) hits += " " + k + " " + val.dump();
                add(hits);
                if (auto fp = v->fingerprint.find("first_probe");
                    fp != v->fingerprint.end() && fp->is_object()) {
                    std::string first = "first probe  ";
                    for (const auto& [k, val] : fp->items())
                        first += k + " " + (val.is_string() ? val.get<std::string>() : val.dump()) +
                                 "  ";
                    add(first);
                }
            }
            std::string labels;
            for (const auto& l : v->labels) labels += (labels.empty() ? "" : ", ") + l;
            add("labels   " + (labels.empty() ? std::string("-") : labels) +
                (v->rdns.empty() ? "" : "   rdns " + v->rdns));
        } else {
            add(s->backscatter
                    ? "not a scanner: it sends replies nobody here asked for (backscatter)"
                    : "no verdict: below every scan threshold so far");
        }
        add("");
        add("PORT        SERVICE           PACKETS", A_BOLD | A_UNDERLINE);
        std::vector<PortHit> ports(s->top.begin(), s->top.begin() + s->n_top);
        if (v && !v->top_ports.empty()) ports = v->top_ports;
        for (const auto& p : ports) {
            std::string svc = model_.service(p.proto, p.port);
            add(fit(port_text(p.proto, p.port), 11) + " " + fit(svc.empty() ? "-" : svc, 16) + " " +
                fit(fmt_count(p.packets), 8, true));
        }
        if (ports.empty()) add("(none)");
    }
    detail_lines_ = lines.size();
    const int rows = std::max(1, LINES - 7);
    detail_top_ =
        std::min(detail_top_, lines.size() > static_cast<size_t>(rows) ? lines.size() - rows : 0);
    for (int i = 0; i < rows + 1 && detail_top_ + static_cast<size_t>(i) < lines.size(); ++i) {
        size_t k = detail_top_ + static_cast<size_t>(i);
        put(5 + i, 1, lines[k].first, lines[k].second);
        if (static_cast<int>(k) == spark_row)
            put_raw(5 + i, 1 + 15, spark, static_cast<int>(spark_cells), A_NORMAL,
                    colour_ ? kSpark : 0);
    }
}

void TopView::draw_footer() {
    const int y = LINES - 1;
    if (editing_) {
        std::string prompt = "Filter: " + edit_;
        int x = put(y, 0, prompt, A_BOLD);
        put(y, x, "_", A_BLINK);
        put(y, x + 2,
            "Enter apply, Esc cancel: 198.51 | 198.51.100.0/24 | 22 | tcp/22 | label:shodan",
            A_NORMAL, colour_ ? kDim : 0);
        return;
    }
    static const std::pair<const char*, const char*> keys[] = {
        {"F1-5", "View"}, {"?", "Help"},  {"q", "Quit"},     {"/", "Filter"},     {"s<>", "Sort"},
        {"r", "Rev"},     {"p", "Pause"}, {"1-3", "Window"}, {"Enter", "Detail"}, {"Tab", "Next"}};
    int x = 0;
    for (const auto& [k, what] : keys) {
        if (x + static_cast<int>(strlen(k) + strlen(what)) + 2 > COLS) break;
        x = put(y, x, k, A_BOLD | (colour_ ? A_NORMAL : A_REVERSE), colour_ ? kTab : 0);
        x = put(y, x + 1, what) + 2;
    }
}

void TopView::draw_help() {
    static const char* text[] = {
        "probescope top: keys",
        "",
        "F1 F2 F3 F4 F5   Sources, Ports, Flags, Events, Detail",
        "Tab, Shift-Tab   next, previous view",
        "1  2  3          rate window: 10 s, 1 min, 5 min",
        "                 (digits pick windows; F-keys and Tab pick views)",
        "s  >  <          sort by the next / previous column",
        "r                reverse the sort",
        "/                filter: address text, CIDR, port (22, tcp/22),",
        "                 label:NAME; Esc clears it",
        "Enter            detail of the source under the cursor",
        "Esc, Backspace   back from the detail view",
        "Up Down PgUp PgDn Home End   move",
        "p  (or Space)    pause: the screen holds still, records queue",
        "q                quit (the terminal is restored)",
        "",
        "any key closes this help",
    };
    const int n = static_cast<int>(sizeof(text) / sizeof(text[0]));
    int w = 0;
    for (const char* t : text) w = std::max(w, static_cast<int>(strlen(t)));
    w += 4;
    const int h = n + 2;
    int y0 = std::max(0, (LINES - h) / 2), x0 = std::max(0, (COLS - w) / 2);
    for (int i = 0; i < h && y0 + i < LINES; ++i) {
        attr_set(colour_ ? A_NORMAL : A_REVERSE, colour_ ? kTitle : 0, nullptr);
        mvhline(y0 + i, x0, ' ', std::min(w, COLS - x0));
        if (i > 0 && i <= n) mvaddnstr(y0 + i, x0 + 2, text[i - 1], std::max(0, COLS - x0 - 2));
        attr_set(A_NORMAL, 0, nullptr);
    }
}

void TopView::draw(const TopStatus& status) {
    erase();
    if (COLS < 40 || LINES < 10) {
        put(0, 0, "probescope top: the terminal is too small (need 40x10)", A_BOLD);
        refresh();
        return;
    }
    draw_header(status);
    draw_tabs();
    if (screen_ == Screen::Detail)
        draw_detail();
    else
        draw_table();
    draw_footer();
    if (help_) draw_help();
    refresh();
}

}  // namespace probescope
