package io.kvmclock.drift;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Whole-second durations written as 40h, 1250s, 90m, 2d or combinations such as 1h30m or 2d4h. */
public final class Durations {
    private Durations() {}

    private static final Pattern WHOLE = Pattern.compile("(?:\\d+[dhms])+");
    private static final Pattern PART = Pattern.compile("(\\d+)([dhms])");

    /** Seconds in {@code text}; IllegalArgumentException with a one-line reason otherwise. */
    public static long parseSeconds(String text) {
        String v = text == null ? "" : text.trim().toLowerCase(java.util.Locale.ROOT).replace("_", "");
        if (!WHOLE.matcher(v).matches()) {
            throw new IllegalArgumentException("'" + text
                    + "' is not a duration: use whole numbers with units d, h, m, s, e.g. 40h, 1250s, 90m, 2d, 1h30m");
        }
        Matcher m = PART.matcher(v);
        long total = 0;
        String seen = "";
        while (m.find()) {
            String unit = m.group(2);
            if (seen.contains(unit)) {
                throw new IllegalArgumentException("'" + text + "' gives the unit '" + unit + "' twice");
            }
            seen += unit;
            long per = switch (unit) {
                case "d" -> 86_400L;
                case "h" -> 3_600L;
                case "m" -> 60L;
                default -> 1L;
            };
            try {
                total = Math.addExact(total, Math.multiplyExact(Long.parseLong(m.group(1)), per));
            } catch (NumberFormatException | ArithmeticException e) {
                throw new IllegalArgumentException("'" + text + "' is too long a duration");
            }
        }
        return total;
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
}
