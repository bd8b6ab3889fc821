package io.kvmclock.drift;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The project's one duration syntax: whole numbers with units ns, us, ms, s, m, h, d, alone or summed
 * (1h30m, 2d4h, 1s500ms), each unit at most once, in any order. {@link #parseNs} gives nanoseconds;
 * {@link #parseSeconds} is for options that count whole seconds.
 */
public final class Durations {
    private Durations() {}

    private static final long NS_PER_S = 1_000_000_000L;
    // "ms" and "ns"/"us" before "m" and "s", so 5ms is five milliseconds, not five minutes and an "s".
    private static final Pattern PART = Pattern.compile("(\\d+)(ns|us|ms|s|m|h|d)");
    private static final String EXAMPLES = "e.g. 40h, 1250s, 90m, 2d, 1h30m, 50ms";

    /** Nanoseconds in {@code text}; IllegalArgumentException with a one-line reason naming the text otherwise. */
    public static long parseNs(String text) {
        String v = text == null ? "" : text.trim().toLowerCase(Locale.ROOT).replace("_", "");
        Matcher m = PART.matcher(v);
        long total = 0;
        int at = 0;
        String seen = " ";
        while (at < v.length() && m.find(at) && m.start() == at) {
            String unit = m.group(2);
            if (seen.contains(" " + unit + " ")) {
                throw new IllegalArgumentException("'" + text + "' gives the unit '" + unit + "' twice");
            }
            seen += unit + " ";
            long per = switch (unit) {
                case "ns" -> 1L;
                case "us" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> NS_PER_S;
                case "m" -> 60 * NS_PER_S;
                case "h" -> 3_600 * NS_PER_S;
                default -> 86_400 * NS_PER_S;
            };
            try {
                total = Math.addExact(total, Math.multiplyExact(Long.parseLong(m.group(1)), per));
            } catch (NumberFormatException | ArithmeticException e) {
                throw new IllegalArgumentException("'" + text + "' is too long a duration (at most 106751d)");
            }
            at = m.end();
        }
        if (v.isEmpty() || at != v.length()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration: use whole numbers with units"
                    + " ns, us, ms, s, m, h, d, " + EXAMPLES);
        }
        return total;
    }

    /** Whole seconds in {@code text}, for options that count seconds: 1500ms is refused, 2000ms is 2. */
    public static long parseSeconds(String text) {
        long ns = parseNs(text);
        if (ns % NS_PER_S != 0) {
            throw new IllegalArgumentException("'" + text + "' is not a whole number of seconds: use e.g. 40h, 1250s, 1h30m");
        }
        return ns / NS_PER_S;
    }

    /** 144000 -> "40h", 5400 -> "1h30m", 0 -> "0s"; days only from a week up (hours read better below). */
    public static String format(long seconds) {
        if (seconds == 0) {
            return "0s";
        }
        StringBuilder b = new StringBuilder();
        long s = seconds;
        long[] per = {86_400, 3_600, 60, 1};
        String[] unit = {"d", "h", "m", "s"};
        for (int i = seconds >= 7 * 86_400 ? 0 : 1; i < per.length; i++) {
            if (s >= per[i]) {
                b.append(s / per[i]).append(unit[i]);
                s %= per[i];
            }
        }
        return b.toString();
    }

    /**
     * A duration in ns as {@link #parseNs} reads it back, exactly: 1500000000 -> "1s500ms", 200000 -> "200us",
     * 5400000000000 -> "1h30m"; for messages that quote a value an option was given.
     */
    public static String formatExactNs(long ns) {
        if (ns < 0) {
            throw new IllegalArgumentException("a duration is never negative: " + ns);
        }
        long below = ns % NS_PER_S;
        if (below == 0) {
            return format(ns / NS_PER_S);
        }
        StringBuilder b = new StringBuilder(ns >= NS_PER_S ? format(ns / NS_PER_S) : "");
        long[] per = {1_000_000, 1_000, 1};
        String[] unit = {"ms", "us", "ns"};
        for (int i = 0; i < per.length; i++) {
            if (below >= per[i]) {
                b.append(below / per[i]).append(unit[i]);
                below %= per[i];
            }
        }
        return b.toString();
    }

    /** A signed nanosecond count for people: 4502145 -> "4.50 ms", -1189 -> "-1.2 us", 60 -> "60 ns". */
    public static String formatNs(long ns) {
        double a = Math.abs((double) ns);
        if (a >= 1e9) {
            return String.format(Locale.ROOT, "%.3f s", ns / 1e9);
        }
        if (a >= 1e6) {
            return String.format(Locale.ROOT, "%.2f ms", ns / 1e6);
        }
        if (a >= 1e3) {
            return String.format(Locale.ROOT, "%.1f us", ns / 1e3);
        }
        return ns + " ns";
    }
}
