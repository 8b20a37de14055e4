package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/feastgo/feast/internal/cli"
	"github.com/feastgo/feast/materialize"
)

// progressView is one view's counters.
type progressView struct {
	read, written, skipped, total int64
	started                       time.Time
	done                          bool
	err                           error
	stats                         materialize.Stats
}

// progressReporter renders materialization progress: on a terminal, one
// live line per view (rows, rate, ETA when the total is known), redrawn a
// few times a second; otherwise a plain log line per view every interval.
type progressReporter struct {
	out      io.Writer
	tty      bool
	interval time.Duration

	mu      sync.Mutex
	views   map[string]*progressView
	order   []string
	drawn   int
	stop    chan struct{}
	stopped chan struct{}
}

func newProgressReporter(out io.Writer) *progressReporter {
	tty := false
	if f, ok := out.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	p := &progressReporter{out: out, tty: tty, interval: 10 * time.Second, views: map[string]*progressView{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	if tty {
		p.interval = 200 * time.Millisecond
	}
	go p.loop()
	return p
}

func (p *progressReporter) Start(view string, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.views[view] = &progressView{total: total, started: time.Now()}
	p.order = append(p.order, view)
	if !p.tty {
		fmt.Fprintf(p.out, "materializing %s\n", view)
	}
}

func (p *progressReporter) Add(view string, read, written, skipped int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v := p.views[view]; v != nil {
		v.read += read
		v.written += written
		v.skipped += skipped
	}
}

func (p *progressReporter) Done(view string, stats materialize.Stats, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v := p.views[view]; v != nil {
		v.done, v.err, v.stats = true, err, stats
	}
	if !p.tty {
		fmt.Fprintln(p.out, p.line(view))
	}
}

func (p *progressReporter) loop() {
	defer close(p.stopped)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			p.draw()
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progressReporter) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		for _, name := range p.order {
			if !p.views[name].done {
				fmt.Fprintln(p.out, p.line(name))
			}
		}
		return
	}
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, name := range p.order {
		b.WriteString("\x1b[2K" + p.line(name) + "\n")
	}
	p.drawn = len(p.order)
	io.WriteString(p.out, b.String())
}

func (p *progressReporter) line(name string) string {
	v := p.views[name]
	elapsed := time.Since(v.started)
	rate := float64(v.read) / max(elapsed.Seconds(), 1e-3)
	state := "running"
	switch {
	case v.done && v.err != nil:
		state = "failed"
	case v.done:
		state = "done"
		elapsed = v.stats.Duration
	}
	s := fmt.Sprintf("%-28s %-7s read %s  written %s  skipped %s  %s rows/s  %s", name, state, cli.Count(v.read), cli.Count(v.written), cli.Count(v.skipped), cli.Count(int64(rate)), elapsed.Round(100*time.Millisecond))
	if v.total > 0 && !v.done && rate > 0 {
		eta := time.Duration(float64(v.total-v.read)/rate) * time.Second
		s += fmt.Sprintf("  %d%%  ETA %s", 100*v.read/v.total, eta.Round(time.Second))
	}
	return s
}

func (p *progressReporter) Close() {
	close(p.stop)
	<-p.stopped
}
