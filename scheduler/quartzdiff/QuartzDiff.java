// QuartzDiff prints the fire times Quartz 2.3 computes for the triggers it
// reads on stdin, one trigger per line, so that swarm's scheduler package
// can be compared with the real thing (see quartzdiff_test.go).
//
// Input lines (times are Unix milliseconds, "-" for no end time):
//
//	cron     ZONE START END COUNT EXPRESSION...
//	simple   START END COUNT INTERVAL_MS REPEAT_COUNT
//	daily    ZONE START END COUNT INTERVAL UNIT REPEAT_COUNT HH:MM:SS HH:MM:SS DAYS
//	calendar ZONE START END COUNT INTERVAL UNIT PRESERVE_HOUR SKIP_DAY
//
// DAYS is a comma-separated list of java.util.Calendar day numbers
// (1 = Sunday). A line may end with " @cal " and an exclusion calendar:
//
//	holiday ZONE YYYY-MM-DD,...
//	annual  ZONE MM-DD,...
//	monthly ZONE DAY,...
//	weekly  ZONE DAYS
//	daily   ZONE HH:MM:SS HH:MM:SS INVERT
//	cron    ZONE EXPRESSION...
//
// Output: one line per input line, the fire times separated by spaces, or
// "ERR " and a message.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TimeZone;

import org.quartz.DateBuilder.IntervalUnit;
import org.quartz.TimeOfDay;
import org.quartz.TriggerUtils;
import org.quartz.impl.triggers.CalendarIntervalTriggerImpl;
import org.quartz.impl.triggers.CronTriggerImpl;
import org.quartz.impl.triggers.DailyTimeIntervalTriggerImpl;
import org.quartz.impl.triggers.SimpleTriggerImpl;
import org.quartz.spi.OperableTrigger;

public class QuartzDiff {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            try {
                String[] parts = line.trim().split(" @cal ");
                org.quartz.Calendar cal = parts.length > 1 ? new Budget(calendar(parts[1].trim().split("\\s+"))) : null;
                out.append(run(parts[0].trim().split("\\s+"), cal));
            } catch (Exception e) {
                out.append("ERR ").append(e.toString().replace('\n', ' '));
            }
            out.append('\n');
        }
        System.out.print(out);
    }

    // Budget bounds Quartz's fire-by-fire walk over excluded times, which
    // can otherwise run for hours (it gives up only in the year 2126).
    static final class Budget extends org.quartz.impl.calendar.BaseCalendar {
        private final org.quartz.Calendar inner;
        private final long deadline = System.nanoTime() + 100_000_000L;

        Budget(org.quartz.Calendar inner) {
            this.inner = inner;
        }

        @Override
        public boolean isTimeIncluded(long t) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("budget");
            }
            return inner.isTimeIncluded(t);
        }

        @Override
        public long getNextIncludedTime(long t) {
            return inner.getNextIncludedTime(t);
        }
    }

    static String run(String[] f, org.quartz.Calendar cal) throws Exception {
        OperableTrigger t;
        int count;
        switch (f[0]) {
            case "cron": {
                TimeZone tz = zone(f[1]);
                CronTriggerImpl c = new CronTriggerImpl();
                c.setTimeZone(tz);
                c.setCronExpression(String.join(" ", java.util.Arrays.copyOfRange(f, 5, f.length)));
                times(c, f[2], f[3]);
                count = Integer.parseInt(f[4]);
                t = c;
                break;
            }
            case "simple": {
                SimpleTriggerImpl s = new SimpleTriggerImpl();
                times(s, f[1], f[2]);
                count = Integer.parseInt(f[3]);
                s.setRepeatInterval(Long.parseLong(f[4]));
                s.setRepeatCount(Integer.parseInt(f[5]));
                t = s;
                break;
            }
            case "daily": {
                // Quartz 2.3's DailyTimeIntervalTrigger has no zone of its
                // own: it computes in the JVM's default zone.
                TimeZone.setDefault(zone(f[1]));
                DailyTimeIntervalTriggerImpl d = new DailyTimeIntervalTriggerImpl();
                times(d, f[2], f[3]);
                count = Integer.parseInt(f[4]);
                d.setRepeatInterval(Integer.parseInt(f[5]));
                d.setRepeatIntervalUnit(IntervalUnit.valueOf(f[6]));
                d.setRepeatCount(Integer.parseInt(f[7]));
                d.setStartTimeOfDay(tod(f[8]));
                d.setEndTimeOfDay(tod(f[9]));
                Set<Integer> days = new HashSet<>();
                for (String s : f[10].split(",")) {
                    days.add(Integer.parseInt(s));
                }
                d.setDaysOfWeek(days);
                t = d;
                break;
            }
            case "calendar": {
                TimeZone tz = zone(f[1]);
                TimeZone.setDefault(tz);
                CalendarIntervalTriggerImpl c = new CalendarIntervalTriggerImpl();
                c.setTimeZone(tz);
                times(c, f[2], f[3]);
                count = Integer.parseInt(f[4]);
                c.setRepeatInterval(Integer.parseInt(f[5]));
                c.setRepeatIntervalUnit(IntervalUnit.valueOf(f[6]));
                c.setPreserveHourOfDayAcrossDaylightSavings(f[7].equals("1"));
                c.setSkipDayIfHourDoesNotExist(f[8].equals("1"));
                t = c;
                break;
            }
            default:
                throw new IllegalArgumentException("unknown kind " + f[0]);
        }
        t.setKey(new org.quartz.TriggerKey("t"));
        t.setJobKey(new org.quartz.JobKey("j"));
        t.validate();
        List<Date> fires = TriggerUtils.computeFireTimes(t, cal, count);
        StringBuilder b = new StringBuilder();
        for (Date d : fires) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(d.getTime());
        }
        return b.toString();
    }

    static org.quartz.Calendar calendar(String[] f) throws Exception {
        TimeZone tz = zone(f[1]);
        switch (f[0]) {
            case "holiday": {
                org.quartz.impl.calendar.HolidayCalendar c = new org.quartz.impl.calendar.HolidayCalendar();
                c.setTimeZone(tz);
                for (String d : f[2].split(",")) {
                    String[] p = d.split("-");
                    java.util.Calendar day = java.util.Calendar.getInstance(tz);
                    day.clear();
                    day.set(Integer.parseInt(p[0]), Integer.parseInt(p[1]) - 1, Integer.parseInt(p[2]));
                    c.addExcludedDate(day.getTime());
                }
                return c;
            }
            case "annual": {
                org.quartz.impl.calendar.AnnualCalendar c = new org.quartz.impl.calendar.AnnualCalendar();
                c.setTimeZone(tz);
                for (String d : f[2].split(",")) {
                    String[] p = d.split("-");
                    java.util.Calendar day = java.util.Calendar.getInstance(tz);
                    day.clear();
                    day.set(2000, Integer.parseInt(p[0]) - 1, Integer.parseInt(p[1]));
                    c.setDayExcluded(day, true);
                }
                return c;
            }
            case "monthly": {
                org.quartz.impl.calendar.MonthlyCalendar c = new org.quartz.impl.calendar.MonthlyCalendar();
                c.setTimeZone(tz);
                for (String d : f[2].split(",")) {
                    c.setDayExcluded(Integer.parseInt(d), true);
                }
                return c;
            }
            case "weekly": {
                org.quartz.impl.calendar.WeeklyCalendar c = new org.quartz.impl.calendar.WeeklyCalendar();
                c.setTimeZone(tz);
                for (int d = 1; d <= 7; d++) {
                    c.setDayExcluded(d, false); // Quartz excludes weekends by default
                }
                for (String d : f[2].split(",")) {
                    c.setDayExcluded(Integer.parseInt(d), true);
                }
                return c;
            }
            case "daily": {
                org.quartz.impl.calendar.DailyCalendar c = new org.quartz.impl.calendar.DailyCalendar(f[2], f[3]);
                c.setTimeZone(tz);
                c.setInvertTimeRange(f[4].equals("1"));
                return c;
            }
            case "cron": {
                org.quartz.impl.calendar.CronCalendar c = new org.quartz.impl.calendar.CronCalendar(
                        String.join(" ", java.util.Arrays.copyOfRange(f, 2, f.length)));
                c.setTimeZone(tz);
                return c;
            }
            default:
                throw new IllegalArgumentException("unknown calendar " + f[0]);
        }
    }

    static TimeZone zone(String id) {
        TimeZone tz = TimeZone.getTimeZone(id);
        if (!tz.getID().equals(id)) {
            throw new IllegalArgumentException("unknown zone " + id);
        }
        return tz;
    }

    static void times(org.quartz.spi.MutableTrigger t, String start, String end) {
        t.setStartTime(new Date(Long.parseLong(start)));
        if (!end.equals("-")) {
            t.setEndTime(new Date(Long.parseLong(end)));
        }
    }

    static TimeOfDay tod(String s) {
        String[] p = s.split(":");
        return new TimeOfDay(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]));
    }
}
