package scheduler

import (
	"fmt"
	"strconv"
	"strings"
)

// Cron year bounds. Quartz 2.3's javadoc gives 1970-2199; its code computes
// the upper bound from the current year, which swarm cannot do because
// every server must compute the same schedule forever.
const (
	MinCronYear = 1970
	MaxCronYear = 2199
)

// cronField indexes the fields of a Quartz cron expression.
type cronField int

const (
	fieldSecond cronField = iota
	fieldMinute
	fieldHour
	fieldDayOfMonth
	fieldMonth
	fieldDayOfWeek
	fieldYear
)

var cronFieldNames = [...]string{"seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year"}

// Value bounds per field, and the modulus a wrapping range ("FRI-MON",
// "50-10") counts around.
var (
	cronFieldMin  = [...]int{0, 0, 0, 1, 1, 1, MinCronYear}
	cronFieldMax  = [...]int{59, 59, 23, 31, 12, 7, MaxCronYear}
	cronFieldWrap = [...]int{60, 60, 24, 31, 12, 7, 0}
	maxCronStep   = [...]int{59, 59, 23, 31, 12, 7, MaxCronYear - MinCronYear}
)

var monthNames = map[string]int{
	"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
	"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}

var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

// domKind is how the day-of-month field selects days.
type domKind uint8

const (
	domNone    domKind = iota // "?"
	domSet                    // plain values
	domLast                   // L, L-n, LW, L-nW
	domNearest                // nW
)

// dowKind is how the day-of-week field selects days.
type dowKind uint8

const (
	dowNone dowKind = iota // "?"
	dowSet                 // plain values, 1 = Sunday
	dowLast                // xL: the last x-day of the month
	dowNth                 // x#n: the n-th x-day of the month
)

// cronExpr is a parsed Quartz cron expression: one bitset per field, so
// that finding the next matching value is a shift and a trailing-zero count.
type cronExpr struct {
	text string

	sec, min uint64    // bits 0..59
	hour     uint32    // bits 0..23
	dom      uint32    // bits 1..31
	month    uint16    // bits 1..12
	dow      uint8     // bits 1..7, 1 = Sunday
	years    [4]uint64 // bit y-MinCronYear

	domKind     domKind
	lastOffset  int  // L-n
	lastWeekday bool // LW, L-nW
	nearDay     int  // nW

	dowKind dowKind
	dowDay  int // x of xL and x#n, 1 = Sunday
	nth     int // n of x#n

	// allHours: the hours field matches all 24 hours, so a fall-back
	// overlap fires at both occurrences of a matching wall time.
	allHours bool
}

func (c *cronExpr) String() string { return c.text }

func cronError(f cronField, format string, args ...any) *FieldError {
	return &FieldError{Field: "cron", Message: cronFieldNames[f] + ": " + fmt.Sprintf(format, args...)}
}

// parseCron parses a Quartz cron expression: seconds minutes hours
// day-of-month month day-of-week [year]. Errors are *FieldError values for
// the "cron" field naming the cron field and the offending text.
//
// The grammar is Quartz 2.3's. Where Quartz silently ignores trailing text
// (for example "MON-FRI/2", whose step Quartz drops), swarm rejects the
// expression instead, so every expression swarm accepts means the same in
// both.
func parseCron(text string) (*cronExpr, error) {
	toks := strings.Fields(text)
	switch {
	case len(toks) == 0:
		return nil, &FieldError{Field: "cron", Message: "is empty"}
	case len(toks) == 5:
		return nil, &FieldError{Field: "cron", Message: unixCronHint(toks)}
	case len(toks) < 6 || len(toks) > 7:
		return nil, &FieldError{Field: "cron", Message: fmt.Sprintf(
			"%q has %d fields; want 6 or 7: seconds minutes hours day-of-month month day-of-week [year]", text, len(toks))}
	}

	c := &cronExpr{text: strings.Join(toks, " ")}
	if len(toks) == 6 {
		toks = append(toks, "*")
	}
	for f := fieldSecond; f <= fieldYear; f++ {
		if err := c.parseField(f, toks[f]); err != nil {
			return nil, err
		}
	}

	switch {
	case c.domKind == domNone && c.dowKind == dowNone:
		return nil, cronError(fieldDayOfWeek, "day-of-month and day-of-week cannot both be '?'")
	case c.domKind != domNone && c.dowKind != dowNone:
		return nil, cronError(fieldDayOfWeek,
			"%q: one of day-of-month and day-of-week must be '?' (Quartz cannot combine them), for example \"0 0 12 ? * MON\" or \"0 0 12 1 * ?\"", toks[fieldDayOfWeek])
	}
	c.allHours = c.hour == 1<<24-1
	return c, nil
}

// unixCronHint explains a 5-field (Unix) expression and suggests the
// Quartz equivalent.
func unixCronHint(toks []string) string {
	msg := fmt.Sprintf("%q has 5 fields: swarm's cron (Quartz dialect) starts with a seconds field and needs '?' in day-of-month or day-of-week",
		strings.Join(toks, " "))
	dom, dow := toks[2], toks[4]
	switch {
	case dow == "*" || dow == "?":
		dow = "?"
	case dom == "*" || dom == "?":
		dom, dow = "?", unixToQuartzDOW(dow)
	default:
		dow = "?" // Unix ORs the two fields; Quartz cannot, keep day-of-month
	}
	suggestion := strings.Join([]string{"0", toks[0], toks[1], dom, toks[3], dow}, " ")
	if _, err := parseCron(suggestion); err != nil {
		return msg
	}
	return msg + fmt.Sprintf("; did you mean %q?", suggestion)
}

// unixToQuartzDOW renumbers Unix day-of-week numbers (0 or 7 = Sunday) to
// Quartz's (1 = Sunday); names and steps are kept.
func unixToQuartzDOW(field string) string {
	items := strings.Split(field, ",")
	for i, item := range items {
		base, step, hasStep := strings.Cut(item, "/")
		parts := strings.Split(base, "-")
		for j, p := range parts {
			if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 7 {
				parts[j] = strconv.Itoa(n%7 + 1)
			}
		}
		items[i] = strings.Join(parts, "-")
		if hasStep {
			items[i] += "/" + step
		}
	}
	return strings.Join(items, ",")
}

func (c *cronExpr) parseField(f cronField, tok string) error {
	up := strings.ToUpper(tok)
	if up == "?" {
		switch f {
		case fieldDayOfMonth:
			c.domKind = domNone
		case fieldDayOfWeek:
			c.dowKind = dowNone
		default:
			return cronError(f, "%q: '?' is only allowed in day-of-month and day-of-week", tok)
		}
		return nil
	}
	if strings.Contains(up, "?") {
		return cronError(f, "%q: '?' must stand alone", tok)
	}

	items := strings.Split(up, ",")
	if f == fieldDayOfMonth && (strings.ContainsAny(up, "LW")) {
		if len(items) > 1 {
			return cronError(f, "%q: 'L' and 'W' cannot be combined with other days in a list", tok)
		}
		return c.parseDOMSpecial(tok, up)
	}
	if f == fieldDayOfWeek && (strings.Contains(up, "#") || (strings.Contains(up, "L") && up != "L")) {
		if len(items) > 1 {
			return cronError(f, "%q: 'L' and '#' cannot be combined with other days in a list", tok)
		}
		return c.parseDOWSpecial(tok, up)
	}

	var bits uint64
	var years [4]uint64
	for _, item := range items {
		if item == "" {
			return cronError(f, "%q: empty list item", tok)
		}
		if f == fieldDayOfWeek && item == "L" {
			if len(items) > 1 {
				return cronError(f, "%q: 'L' cannot be combined with other days in a list", tok)
			}
			item = "7" // a lone L in day-of-week is Saturday
		}
		if err := addCronItem(f, tok, item, &bits, &years); err != nil {
			return err
		}
	}
	c.store(f, bits, years)
	return nil
}

func (c *cronExpr) store(f cronField, bits uint64, years [4]uint64) {
	switch f {
	case fieldSecond:
		c.sec = bits
	case fieldMinute:
		c.min = bits
	case fieldHour:
		c.hour = uint32(bits)
	case fieldDayOfMonth:
		c.dom, c.domKind = uint32(bits), domSet
	case fieldMonth:
		c.month = uint16(bits)
	case fieldDayOfWeek:
		c.dow, c.dowKind = uint8(bits), dowSet
	case fieldYear:
		c.years = years
	}
}

// addCronItem adds one list item ("*", "*/5", "/5", "7", "7/5", "1-5",
// "1-5/2", "MON-FRI", "NOV-MAR") to a field's set.
func addCronItem(f cronField, tok, item string, bits *uint64, years *[4]uint64) error {
	base, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || stepText == "" || stepText[0] == '+' || stepText[0] == '-' {
			return cronError(f, "%q: '/' must be followed by a number", tok)
		}
		if n < 1 || n > maxCronStep[f] {
			return cronError(f, "%q: step %d is out of range 1-%d", tok, n, maxCronStep[f])
		}
		step = n
	}

	lo, hi := cronFieldMin[f], cronFieldMax[f]
	named := false
	switch {
	case base == "*" || (base == "" && hasStep):
	case base == "":
		return cronError(f, "%q: empty value", tok)
	default:
		from, to, isRange := strings.Cut(base, "-")
		a, aNamed, err := cronValue(f, tok, from)
		if err != nil {
			return err
		}
		lo, named = a, aNamed
		if isRange {
			b, bNamed, err := cronValue(f, tok, to)
			if err != nil {
				return err
			}
			if aNamed != bNamed {
				return cronError(f, "%q: a range cannot mix names and numbers", tok)
			}
			hi = b
		} else if !hasStep {
			hi = a
		}
	}
	if named && hasStep {
		// Quartz drops a step that follows a name; refuse rather than differ.
		return cronError(f, "%q: a step cannot follow a name; write the range in numbers", tok)
	}

	wrap := 0
	if hi < lo {
		if f == fieldYear {
			return cronError(f, "%q: a year range must not run backwards", tok)
		}
		wrap = cronFieldWrap[f]
		hi += wrap
	}
	for i := lo; i <= hi; i += step {
		v := i
		if wrap > 0 {
			v = i % wrap
			if v == 0 && cronFieldMin[f] == 1 {
				v = wrap // 1-based fields count 1..wrap
			}
		}
		if f == fieldYear {
			years[(v-MinCronYear)/64] |= 1 << uint((v-MinCronYear)%64)
		} else {
			*bits |= 1 << uint(v)
		}
	}
	return nil
}

// cronValue parses a number or, in month and day-of-week, a name.
func cronValue(f cronField, tok, s string) (v int, named bool, err error) {
	if s == "" {
		return 0, false, cronError(f, "%q: empty value in range", tok)
	}
	if s[0] >= 'A' && s[0] <= 'Z' {
		var ok bool
		switch f {
		case fieldMonth:
			v, ok = monthNames[s]
		case fieldDayOfWeek:
			v, ok = dayNames[s]
		default:
			return 0, false, cronError(f, "%q: names are only allowed in month and day-of-week", tok)
		}
		if !ok {
			want := "JAN-DEC"
			if f == fieldDayOfWeek {
				want = "SUN-SAT"
			}
			return 0, false, cronError(f, "%q: %q is not a name (%s)", tok, s, want)
		}
		return v, true, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false, cronError(f, "%q: unexpected character %q", tok, s[i])
		}
	}
	if len(s) > 4 {
		return 0, false, cronError(f, "%q: %s is out of range %d-%d", tok, s, cronFieldMin[f], cronFieldMax[f])
	}
	v, _ = strconv.Atoi(s)
	if v < cronFieldMin[f] || v > cronFieldMax[f] {
		return 0, false, cronError(f, "%q: %d is out of range %d-%d", tok, v, cronFieldMin[f], cronFieldMax[f])
	}
	return v, false, nil
}

// parseDOMSpecial parses L, L-n, LW, L-nW and nW.
func (c *cronExpr) parseDOMSpecial(tok, up string) error {
	if strings.HasPrefix(up, "L") {
		rest := up[1:]
		c.domKind = domLast
		if strings.HasSuffix(rest, "W") {
			c.lastWeekday = true
			rest = rest[:len(rest)-1]
		}
		if rest == "" {
			return nil
		}
		if !strings.HasPrefix(rest, "-") {
			return cronError(fieldDayOfMonth, "%q: expected L, L-n, LW or L-nW", tok)
		}
		n, err := strconv.Atoi(rest[1:])
		if err != nil || rest[1:] == "" || rest[1] == '+' || rest[1] == '-' {
			return cronError(fieldDayOfMonth, "%q: 'L-' must be followed by a number of days", tok)
		}
		if n > 30 {
			return cronError(fieldDayOfMonth, "%q: offset from the last day must be at most 30", tok)
		}
		c.lastOffset = n
		return nil
	}
	day, ok := strings.CutSuffix(up, "W")
	if !ok || day == "" || strings.ContainsAny(day, "LW") {
		return cronError(fieldDayOfMonth, "%q: 'W' must follow a single day (15W) or L (LW)", tok)
	}
	n, _, err := cronValue(fieldDayOfMonth, tok, day)
	if err != nil {
		return err
	}
	c.domKind, c.nearDay = domNearest, n
	return nil
}

// parseDOWSpecial parses xL (last x-day of the month) and x#n (n-th x-day).
func (c *cronExpr) parseDOWSpecial(tok, up string) error {
	if day, nth, ok := strings.Cut(up, "#"); ok {
		x, _, err := cronValue(fieldDayOfWeek, tok, day)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(nth)
		if err != nil || len(nth) != 1 || n < 1 || n > 5 {
			return cronError(fieldDayOfWeek, "%q: '#' must be followed by a number between 1 and 5", tok)
		}
		c.dowKind, c.dowDay, c.nth = dowNth, x, n
		c.dow = 1 << uint(x)
		return nil
	}
	day, ok := strings.CutSuffix(up, "L")
	if !ok || day == "" {
		return cronError(fieldDayOfWeek, "%q: 'L' must follow a day (6L or FRIL) or stand alone", tok)
	}
	x, _, err := cronValue(fieldDayOfWeek, tok, day)
	if err != nil {
		return err
	}
	c.dowKind, c.dowDay = dowLast, x
	c.dow = 1 << uint(x)
	return nil
}
