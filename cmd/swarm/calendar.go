package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/swarmsched/swarm/scheduler"
)

func newCalendarCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "manage exclusion calendars, which keep triggers from firing at the times they name",
		Example: `  swarm calendar create --name holidays --kind holiday --date 2026-12-25 --date 2027-01-01
  swarm calendar list`,
	}
	cmd.AddCommand(newCalendarCreateCmd(g), newCalendarGetCmd(g), newCalendarListCmd(g), newCalendarDeleteCmd(g))
	return cmd
}

// calendarFlags write a calendar's fields.
type calendarFlags struct {
	file        string
	name, kind  string
	description string
	timeZone    string
	base        string
	dates, days []string
	daysOfMonth []int
	rangeStart  string
	rangeEnd    string
	invert      bool
	cron        string
}

func (f *calendarFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.file, "file", "f", "", "calendar file (JSON or YAML; - for stdin); flags given too override its fields")
	fs.StringVar(&f.name, "name", "", "calendar name, as triggers name it")
	fs.StringVar(&f.kind, "kind", "", "holiday, annual, monthly, weekly, daily or cron")
	fs.StringVar(&f.description, "description", "", "free text about the calendar")
	fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone the calendar's days and times are in (default UTC)")
	fs.StringVar(&f.base, "base", "", "name of a calendar whose exclusions this one adds to")
	fs.StringSliceVar(&f.dates, "date", nil, "holiday: excluded date YYYY-MM-DD (repeatable)")
	fs.StringSliceVar(&f.days, "day", nil, "annual: excluded day MM-DD; weekly: excluded weekday SAT (repeatable)")
	fs.IntSliceVar(&f.daysOfMonth, "day-of-month", nil, "monthly: excluded day of the month 1-31 (repeatable)")
	fs.StringVar(&f.rangeStart, "range-start", "", "daily: start of the excluded time range HH:MM[:SS]")
	fs.StringVar(&f.rangeEnd, "range-end", "", "daily: end of the excluded time range HH:MM[:SS]")
	fs.BoolVar(&f.invert, "invert", false, "daily: exclude all but the range")
	fs.StringVar(&f.cron, "cron", "", "cron: Quartz cron expression of the excluded times")
}

// build makes the calendar: the file's, if any, with the flags on top.
func (f *calendarFlags) build(fs *pflag.FlagSet, stdin io.Reader) (*scheduler.CalendarSpec, error) {
	cal := &scheduler.CalendarSpec{}
	if f.file != "" {
		if err := decodeFile(f.file, stdin, cal); err != nil {
			return nil, err
		}
	}
	set := fs.Changed
	strs := []struct {
		flag string
		dst  *string
		val  string
	}{
		{"name", &cal.Name, f.name}, {"kind", &cal.Kind, f.kind}, {"description", &cal.Description, f.description},
		{"time-zone", &cal.TimeZone, f.timeZone}, {"base", &cal.Base, f.base}, {"range-start", &cal.RangeStart, f.rangeStart},
		{"range-end", &cal.RangeEnd, f.rangeEnd}, {"cron", &cal.Cron, f.cron},
	}
	for _, s := range strs {
		if set(s.flag) {
			*s.dst = s.val
		}
	}
	if set("date") {
		cal.Dates = f.dates
	}
	if set("day") {
		cal.Days = f.days
	}
	if set("day-of-month") {
		cal.DaysOfMonth = f.daysOfMonth
	}
	if set("invert") {
		cal.Invert = f.invert
	}
	if cal.Name == "" || cal.Kind == "" {
		return nil, errors.New("a calendar needs --name and --kind (or -f FILE)")
	}
	return cal, nil
}

func newCalendarCreateCmd(g *globals) *cobra.Command {
	var f calendarFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "create a calendar from flags or a file",
		Example: `  swarm calendar create --name holidays --kind holiday --date 2026-12-25,2027-01-01
  swarm calendar create --name weekends --kind weekly --day SAT --day SUN --time-zone Europe/Berlin
  swarm calendar create --name night --kind daily --range-start 22:00 --range-end 06:00
  swarm calendar create -f holidays.yaml`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			cal, err := f.build(cmd.Flags(), cmd.InOrStdin())
			if err != nil {
				return err
			}
			created, err := s.api.CreateCalendar(cmd.Context(), cal)
			if err != nil {
				return err
			}
			return s.out.print(created, func(w io.Writer) error { return calendarTable(w, *created) })
		}),
	}
	f.register(cmd.Flags())
	return cmd
}

func newCalendarGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "get NAME",
		Short:   "show a calendar",
		Example: `  swarm calendar get holidays -o yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			cal, err := s.api.GetCalendar(cmd.Context(), args[0])
			if err != nil {
				return about(err, "calendar "+args[0])
			}
			return s.out.print(cal, func(w io.Writer) error { return calendarTable(w, *cal) })
		}),
	}
}

func newCalendarListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "list calendars",
		Example: `  swarm calendar list -o json`,
		Args:    cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			cals, err := s.api.ListAllCalendars(cmd.Context())
			if err != nil {
				return err
			}
			return s.out.print(cals, func(w io.Writer) error { return calendarTable(w, cals...) })
		}),
	}
}

func newCalendarDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "delete a calendar",
		Example: `  swarm calendar delete holidays`,
		Args:    cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			if err := s.api.DeleteCalendar(cmd.Context(), args[0]); err != nil {
				return about(err, "calendar "+args[0])
			}
			done := struct {
				Calendar string `json:"calendar"`
				Deleted  bool   `json:"deleted"`
			}{args[0], true}
			return s.out.print(done, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "deleted calendar %s\n", args[0])
				return err
			})
		}),
	}
}

func calendarTable(w io.Writer, cals ...scheduler.CalendarSpec) error {
	t := newTable(w, "NAME", "KIND", "EXCLUDES", "TIME ZONE", "BASE", "DESCRIPTION")
	for _, c := range cals {
		t.row(c.Name, c.Kind, calendarExcludes(c), c.TimeZone, c.Base, c.Description)
	}
	return t.flush()
}

// calendarExcludes summarizes what a calendar excludes.
func calendarExcludes(c scheduler.CalendarSpec) string {
	var parts []string
	parts = append(parts, c.Dates...)
	parts = append(parts, c.Days...)
	for _, d := range c.DaysOfMonth {
		parts = append(parts, strconv.Itoa(d))
	}
	if c.RangeStart != "" || c.RangeEnd != "" {
		r := c.RangeStart + "-" + c.RangeEnd
		if c.Invert {
			r = "all but " + r
		}
		parts = append(parts, r)
	}
	if c.Cron != "" {
		parts = append(parts, "cron "+c.Cron)
	}
	return strings.Join(parts, ",")
}
