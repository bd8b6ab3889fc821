package io.kvmclock.demo;

import java.util.Arrays;

/** Median, p99 and max of a sample (nearest-rank percentiles, so every value is one that was measured). */
public record Summary(long median, long p99, long max, int count) {

    public static Summary of(long[] values) {
        if (values.length == 0) {
            return new Summary(0, 0, 0, 0);
        }
        long[] s = values.clone();
        Arrays.sort(s);
        return new Summary(rank(s, 50), rank(s, 99), s[s.length - 1], s.length);
    }

    public static Summary ofAbsolute(long[] values) {
        long[] abs = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            abs[i] = Math.abs(values[i]);
        }
        return of(abs);
    }

    /** Nearest rank: the smallest value with at least p % of the sample at or below it. */
    static long rank(long[] sorted, int percent) {
        int idx = (int) Math.ceil(percent / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }
}
