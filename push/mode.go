package push

import (
	"fmt"
	"strconv"
	"strings"
)

// Mode says where pushed rows go. The numbers are Feast's PushMode.
type Mode int

// Push modes.
const (
	Online           Mode = 1
	Offline          Mode = 2
	OnlineAndOffline Mode = 3
)

// String returns the mode as the HTTP API spells it.
func (m Mode) String() string {
	switch m {
	case Online:
		return "online"
	case Offline:
		return "offline"
	case OnlineAndOffline:
		return "online_and_offline"
	}
	return "PushMode(" + strconv.Itoa(int(m)) + ")"
}

func (m Mode) online() bool  { return m == Online || m == OnlineAndOffline }
func (m Mode) offline() bool { return m == Offline || m == OnlineAndOffline }

// ParseMode parses the `to` field of a push request: "online" (also the
// empty string, Feast's default), "offline" or "online_and_offline", in any
// case. An unknown mode is an *InvalidError.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "online":
		return Online, nil
	case "offline":
		return Offline, nil
	case "online_and_offline":
		return OnlineAndOffline, nil
	}
	return 0, &InvalidError{Reason: fmt.Sprintf("unknown push mode %q: use online, offline or online_and_offline", s), Row: -1}
}
