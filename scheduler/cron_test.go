package scheduler

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// The examples of Quartz's CronTrigger tutorial, and the special
// characters one by one, in UTC from Sunday 2026-03-01.
func TestCronTutorialExamples(t *testing.T) {
	const from = "2026-03-01T00:00:00Z"
	cases := []struct {
		expr string
		want []string
	}{
		{"0 0 12 * * ?", []string{"2026-03-01 12:00:00 UTC", "2026-03-02 12:00:00 UTC", "2026-03-03 12:00:00 UTC"}},
		{"0 15 10 ? * *", []string{"2026-03-01 10:15:00 UTC", "2026-03-02 10:15:00 UTC"}},
		{"0 15 10 * * ? *", []string{"2026-03-01 10:15:00 UTC", "2026-03-02 10:15:00 UTC"}},
		{"0 15 10 * * ? 2027", []string{"2027-01-01 10:15:00 UTC", "2027-01-02 10:15:00 UTC"}},
		{"0 * 14 * * ?", []string{"2026-03-01 14:00:00 UTC", "2026-03-01 14:01:00 UTC", "2026-03-01 14:02:00 UTC"}},
		{"0 0/5 14 * * ?", []string{"2026-03-01 14:00:00 UTC", "2026-03-01 14:05:00 UTC", "2026-03-01 14:10:00 UTC"}},
		{"0 0-5 14 * * ?", []string{"2026-03-01 14:00:00 UTC", "2026-03-01 14:01:00 UTC", "2026-03-01 14:02:00 UTC",
			"2026-03-01 14:03:00 UTC", "2026-03-01 14:04:00 UTC", "2026-03-01 14:05:00 UTC", "2026-03-02 14:00:00 UTC"}},
		{"0 10,44 14 ? 3 WED", []string{"2026-03-04 14:10:00 UTC", "2026-03-04 14:44:00 UTC", "2026-03-11 14:10:00 UTC",
			"2026-03-11 14:44:00 UTC", "2026-03-18 14:10:00 UTC", "2026-03-18 14:44:00 UTC", "2026-03-25 14:10:00 UTC",
			"2026-03-25 14:44:00 UTC", "2027-03-03 14:10:00 UTC"}},
		{"0 15 10 ? * MON-FRI", []string{"2026-03-02 10:15:00 UTC", "2026-03-03 10:15:00 UTC", "2026-03-04 10:15:00 UTC",
			"2026-03-05 10:15:00 UTC", "2026-03-06 10:15:00 UTC", "2026-03-09 10:15:00 UTC"}},
		{"0 15 10 15 * ?", []string{"2026-03-15 10:15:00 UTC", "2026-04-15 10:15:00 UTC"}},
		{"0 15 10 L * ?", []string{"2026-03-31 10:15:00 UTC", "2026-04-30 10:15:00 UTC", "2026-05-31 10:15:00 UTC", "2026-06-30 10:15:00 UTC"}},
		// L-2: the last day minus two (Quartz's code; its docs say "second-to-last").
		{"0 15 10 L-2 * ?", []string{"2026-03-29 10:15:00 UTC", "2026-04-28 10:15:00 UTC", "2026-05-29 10:15:00 UTC"}},
		{"0 15 10 ? * 6L", []string{"2026-03-27 10:15:00 UTC", "2026-04-24 10:15:00 UTC", "2026-05-29 10:15:00 UTC"}},
		{"0 15 10 ? * 6L 2026-2027", []string{"2026-03-27 10:15:00 UTC", "2026-04-24 10:15:00 UTC"}},
		{"0 15 10 ? * FRIL", []string{"2026-03-27 10:15:00 UTC", "2026-04-24 10:15:00 UTC"}},
		{"0 15 10 ? * 6#3", []string{"2026-03-20 10:15:00 UTC", "2026-04-17 10:15:00 UTC", "2026-05-15 10:15:00 UTC"}},
		// The fifth Monday exists only in some months.
		{"0 0 9 ? * MON#5", []string{"2026-03-30 09:00:00 UTC", "2026-06-29 09:00:00 UTC", "2026-08-31 09:00:00 UTC"}},
		{"0 0 12 1/5 * ?", []string{"2026-03-01 12:00:00 UTC", "2026-03-06 12:00:00 UTC", "2026-03-11 12:00:00 UTC",
			"2026-03-16 12:00:00 UTC", "2026-03-21 12:00:00 UTC", "2026-03-26 12:00:00 UTC", "2026-03-31 12:00:00 UTC",
			"2026-04-01 12:00:00 UTC"}},
		{"0 11 11 11 11 ?", []string{"2026-11-11 11:11:00 UTC", "2027-11-11 11:11:00 UTC"}},
		// 1W: 2026-03-01 and 2026-08-01 are a Sunday and a Saturday; W never
		// leaves the month, so August's is Monday the 3rd.
		{"0 0 0 1W * ?", []string{"2026-03-02 00:00:00 UTC", "2026-04-01 00:00:00 UTC", "2026-05-01 00:00:00 UTC",
			"2026-06-01 00:00:00 UTC", "2026-07-01 00:00:00 UTC", "2026-08-03 00:00:00 UTC"}},
		// 15W: Sunday 2026-03-15 moves to Monday, Saturday 2026-08-15 to Friday.
		{"0 0 12 15W 3,8 ?", []string{"2026-03-16 12:00:00 UTC", "2026-08-14 12:00:00 UTC"}},
		// LW: the last weekday; Sunday 2026-05-31 and Saturday 2026-10-31 move back.
		{"0 0 0 LW 3,5,10 ?", []string{"2026-03-31 00:00:00 UTC", "2026-05-29 00:00:00 UTC", "2026-10-30 00:00:00 UTC"}},
		{"0 0 0 L-3W 5 ?", []string{"2026-05-28 00:00:00 UTC"}},
		// Ranges that wrap around.
		{"0 0 12 ? * FRI-MON", []string{"2026-03-01 12:00:00 UTC", "2026-03-02 12:00:00 UTC", "2026-03-06 12:00:00 UTC",
			"2026-03-07 12:00:00 UTC", "2026-03-08 12:00:00 UTC", "2026-03-09 12:00:00 UTC", "2026-03-13 12:00:00 UTC"}},
		{"0 0 0 1 NOV-MAR ?", []string{"2026-03-01 00:00:00 UTC", "2026-11-01 00:00:00 UTC", "2026-12-01 00:00:00 UTC",
			"2027-01-01 00:00:00 UTC", "2027-02-01 00:00:00 UTC", "2027-03-01 00:00:00 UTC", "2027-11-01 00:00:00 UTC"}},
		{"50-10/7 0 0 * * ?", []string{"2026-03-01 00:00:04 UTC", "2026-03-01 00:00:50 UTC", "2026-03-01 00:00:57 UTC", "2026-03-02 00:00:04 UTC"}},
		{"0 0 22-2 1 * ?", []string{"2026-03-01 00:00:00 UTC", "2026-03-01 01:00:00 UTC", "2026-03-01 02:00:00 UTC",
			"2026-03-01 22:00:00 UTC", "2026-03-01 23:00:00 UTC", "2026-04-01 00:00:00 UTC"}},
		{"0 0 0 30-2 * ?", []string{"2026-03-01 00:00:00 UTC", "2026-03-02 00:00:00 UTC", "2026-03-30 00:00:00 UTC",
			"2026-03-31 00:00:00 UTC", "2026-04-01 00:00:00 UTC", "2026-04-02 00:00:00 UTC", "2026-04-30 00:00:00 UTC"}},
		// A lone L in day-of-week is Saturday; names are case-insensitive.
		{"0 0 0 ? * L", []string{"2026-03-07 00:00:00 UTC", "2026-03-14 00:00:00 UTC"}},
		{"0 0 0 ? jan,Feb sun#1", []string{"2027-01-03 00:00:00 UTC", "2027-02-07 00:00:00 UTC"}},
		{"0 0 0 29 2 ?", []string{"2028-02-29 00:00:00 UTC", "2032-02-29 00:00:00 UTC"}},
		{"0 0 0 31 * ?", []string{"2026-03-31 00:00:00 UTC", "2026-05-31 00:00:00 UTC", "2026-07-31 00:00:00 UTC"}},
		{"*/20 * * * * ?", []string{"2026-03-01 00:00:00 UTC", "2026-03-01 00:00:20 UTC", "2026-03-01 00:00:40 UTC", "2026-03-01 00:01:00 UTC"}},
		{"/20 * * * * ?", []string{"2026-03-01 00:00:00 UTC", "2026-03-01 00:00:20 UTC"}},
		{"0 0 0 1 1 ? 2030/50", []string{"2030-01-01 00:00:00 UTC", "2080-01-01 00:00:00 UTC", "2130-01-01 00:00:00 UTC", "2180-01-01 00:00:00 UTC"}},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			got := fires(t, cronSpec(c.expr, "UTC", from), len(c.want))
			require.Equal(t, c.want, got)
		})
	}
}

func TestCronYearLimitEndsTheTrigger(t *testing.T) {
	got := fires(t, cronSpec("0 0 0 1 1 ? 2198-2199", "UTC", "2026-01-01T00:00:00Z"), 5)
	require.Equal(t, []string{"2198-01-01 00:00:00 UTC", "2199-01-01 00:00:00 UTC"}, got)

	got = fires(t, cronSpec("0 0 0 ? * MON#5 2026", "UTC", "2026-12-01T00:00:00Z"), 5)
	require.Empty(t, got, "December 2026 has four Mondays")
}

func TestCronParseErrorsNameTheField(t *testing.T) {
	cases := []struct {
		expr, want string
	}{
		{"0 60 * * * ?", `cron: minutes: "60": 60 is out of range 0-59`},
		{"0 0 24 * * ?", `cron: hours: "24": 24 is out of range 0-23`},
		{"0 0 0 32 * ?", `cron: day-of-month: "32": 32 is out of range 1-31`},
		{"0 0 0 0 * ?", `cron: day-of-month: "0": 0 is out of range 1-31`},
		{"0 0 0 ? 13 *", `cron: month: "13": 13 is out of range 1-12`},
		{"0 0 0 ? * 8", `cron: day-of-week: "8": 8 is out of range 1-7`},
		{"0 0 0 ? * FOO", `cron: day-of-week: "FOO": "FOO" is not a name (SUN-SAT)`},
		{"0 0 0 ? JANUARY *", `cron: month: "JANUARY": "JANUARY" is not a name (JAN-DEC)`},
		{"0 0 0 1 * ? 1969", `cron: year: "1969": 1969 is out of range 1970-2199`},
		{"0 0 0 1 * ? 2200", `cron: year: "2200": 2200 is out of range 1970-2199`},
		{"0 0 0 1 * ? 2030-2020", `cron: year: "2030-2020": a year range must not run backwards`},
		{"0 0 12 * * MON", `cron: day-of-week: "MON": one of day-of-month and day-of-week must be '?'`},
		{"0 0 12 * * *", `cron: day-of-week: "*": one of day-of-month and day-of-week must be '?'`},
		{"0 0 12 ? * ?", `cron: day-of-week: day-of-month and day-of-week cannot both be '?'`},
		{"? 0 12 * * ?", `cron: seconds: "?": '?' is only allowed in day-of-month and day-of-week`},
		{"0 0 12 ?,1 * ?", `cron: day-of-month: "?,1": '?' must stand alone`},
		{"0 0 12 L,15 * ?", `cron: day-of-month: "L,15": 'L' and 'W' cannot be combined with other days in a list`},
		{"0 0 12 L-31 * ?", `cron: day-of-month: "L-31": offset from the last day must be at most 30`},
		{"0 0 12 L-x * ?", `cron: day-of-month: "L-x": 'L-' must be followed by a number of days`},
		{"0 0 12 32W * ?", `cron: day-of-month: "32W": 32 is out of range 1-31`},
		{"0 0 12 1-5W * ?", `cron: day-of-month: "1-5W": unexpected character '-'`},
		{"0 0 12 ? * 6#6", `cron: day-of-week: "6#6": '#' must be followed by a number between 1 and 5`},
		{"0 0 12 ? * 6#1,2", `cron: day-of-week: "6#1,2": 'L' and '#' cannot be combined with other days in a list`},
		{"0 0 12 ? * L,2", `cron: day-of-week: "L,2": 'L' and '#' cannot be combined with other days in a list`},
		{"0 0 12 ? * MON-FRI/2", `cron: day-of-week: "MON-FRI/2": a step cannot follow a name; write the range in numbers`},
		{"0 0 12 ? * MON-5", `cron: day-of-week: "MON-5": a range cannot mix names and numbers`},
		{"*/0 * * * * ?", `cron: seconds: "*/0": step 0 is out of range 1-59`},
		{"*/60 * * * * ?", `cron: seconds: "*/60": step 60 is out of range 1-59`},
		{"0 0 */24 * * ?", `cron: hours: "*/24": step 24 is out of range 1-23`},
		{"0 0 0/ * * ?", `cron: hours: "0/": '/' must be followed by a number`},
		{"0 0,,1 0 * * ?", `cron: minutes: "0,,1": empty list item`},
		{"0 0 0 1 * ? 2026 extra", `cron: "0 0 0 1 * ? 2026 extra" has 8 fields; want 6 or 7`},
		{"0 0 0 1", `cron: "0 0 0 1" has 4 fields; want 6 or 7`},
		{"   ", `cron: is required for cron triggers`},
		{"0 0 0 1 * 5L", `cron: day-of-week: "5L": one of day-of-month and day-of-week must be '?'`},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			_, err := Compile(Spec{Kind: KindCron, Cron: c.expr})
			require.Error(t, err)
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
			require.Equal(t, "cron", fe.Field)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestCronUnixExpressionGetsAHint(t *testing.T) {
	cases := map[string]string{
		"30 2 * * *":     `did you mean "0 30 2 * * ?"?`,
		"*/5 * * * 1-5":  `did you mean "0 */5 * ? * 2-6"?`,
		"0 9 * * 0,6":    `did you mean "0 0 9 ? * 1,7"?`,
		"0 9 1 * *":      `did you mean "0 0 9 1 * ?"?`,
		"0 9 1 * MON":    `did you mean "0 0 9 1 * ?"?`,
		"0 9 * * MON-FR": "starts with a seconds field",
	}
	for expr, want := range cases {
		_, err := Compile(Spec{Kind: KindCron, Cron: expr})
		require.ErrorContains(t, err, "swarm's cron (Quartz dialect) starts with a seconds field", expr)
		require.ErrorContains(t, err, want, expr)
	}
}

func TestCronNormalizedText(t *testing.T) {
	tr := mustCompile(t, Spec{Kind: KindCron, Cron: "  0  0/5\t14,18 * * ?  "})
	require.Equal(t, "0 0/5 14,18 * * ?", tr.Spec().Cron)
}
