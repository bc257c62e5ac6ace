// `probescope top`'s screen (ncurses): header, the five views, keys. It draws what TopModel's
// queries return and keeps only the view state (view, sort, cursor, filter, window, pause).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "addr.h"
#include "top_model.h"

struct screen;  // ncurses' SCREEN

namespace probescope {

// Facts the model does not have: where the records come from, and the kernel's view.
struct TopStatus {
    std::string iface;
    std::string source;        // "in-process", "agent /run/probescope/eth0.sock", ...
    std::string source_short;  // "in-process", "agent", ... when the long one does not fit
    std::string xdp_mode;      // "native", "generic", "none"
    std::optional<double> xdp_ns_per_packet;
    std::string cost_note;  // why there is no cost figure
    std::string note;       // e.g. "agent stopped; retrying"
    uint64_t held = 0;      // records held while paused
    uint64_t skipped = 0;   // records dropped while paused (the hold is bounded)
};

// initscr/endwin as RAII: the terminal is restored on every way out of the scope.
class TopScreen {
public:
    TopScreen();
    ~TopScreen();
    TopScreen(const TopScreen&) = delete;
    TopScreen& operator=(const TopScreen&) = delete;
    bool colour() const { return colour_; }
    bool utf8() const { return utf8_; }

private:
    struct screen* screen_ = nullptr;
    bool colour_ = false;
    bool utf8_ = false;
};

// Restores the terminal from a signal handler (async-signal-safe: tcsetattr and write only)
// when the process dies of SIGSEGV, SIGABRT, ...; installed by TopScreen.
void install_crash_restore();

class TopView {
public:
    enum class Screen { Sources, Ports, Flags, Events, Detail };

    TopView(const TopModel& model, bool colour, bool utf8);

    // Handles one key (a curses key code). Returns false when the user quits.
    bool on_key(int key);
    void draw(const TopStatus& status);
    bool paused() const { return paused_; }

    // For tests and the e2e: what is on screen.
    Screen screen() const { return screen_; }

private:
    struct TableState {
        int sort = -1;
        bool descending = true;
        size_t cursor = 0;  // row index in sorted, filtered order
        size_t top = 0;     // first row shown
    };
    TopTable table() const;
    TableState& state() { return tables_[static_cast<size_t>(table())]; }
    TopQuery query(const TableState& st, size_t rows) const;
    void move_cursor(long delta);
    void switch_to(Screen s);
    void open_detail();
    void draw_header(const TopStatus& status);
    void draw_tabs();
    void draw_table();
    void draw_detail();
    void draw_footer();
    void draw_help();
    std::string sparkline(const std::vector<double>& v) const;
    int body_rows() const;

    const TopModel& model_;
    bool colour_, utf8_;
    Screen screen_ = Screen::Sources;
    Screen back_ = Screen::Sources;  // where Esc in the detail view returns
    TableState tables_[4];
    std::string filter_;
    bool editing_ = false;
    std::string edit_;
    RateWindow window_ = RateWindow::Sec10;
    bool paused_ = false;
    bool help_ = false;
    std::optional<Addr16> detail_;
    size_t detail_top_ = 0;
    size_t detail_lines_ = 0;
    size_t last_matching_ = 0;           // of the table last drawn
    std::vector<Addr16> shown_sources_;  // rows of the last Sources draw
    std::vector<std::optional<Addr16>> shown_events_;
    size_t shown_first_ = 0;  // index of shown_*[0]
};

}  // namespace probescope
