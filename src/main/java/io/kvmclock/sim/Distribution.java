package io.kvmclock.sim;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A latency in ns drawn from a seeded random source: fixed, uniform around a mean, or resampled from
 * measured values (fit it to what this machine measured, e.g. the KVM_SET_CLOCK gap).
 */
public sealed interface Distribution {

    long draw(SplittableRandom random);

    record Fixed(long ns) implements Distribution {
        public Fixed {
            if (ns < 0) {
                throw new IllegalArgumentException("a latency cannot be negative: " + ns + " ns");
            }
        }

        @Override
        public long draw(SplittableRandom random) {
            return ns;
        }
    }

    /** Uniform on [mean - spread, mean + spread], never below 0. */
    record Uniform(long mean, long spread) implements Distribution {
        public Uniform {
            if (mean < 0 || spread < 0) {
                throw new IllegalArgumentException("latency mean and spread must be >= 0, got " + mean + " and " + spread);
            }
        }

        @Override
        public long draw(SplittableRandom random) {
            long v = mean - spread + random.nextLong(2 * spread + 1);
            return Math.max(0, v);
        }
    }

    /** Resamples measured values uniformly (an empirical distribution). */
    record Samples(long[] values) implements Distribution {
        public Samples {
            if (values.length == 0) {
                throw new IllegalArgumentException("a latency sample list needs at least one value");
            }
            values = values.clone();
            for (long v : values) {
                if (v < 0) {
                    throw new IllegalArgumentException("a latency sample cannot be negative: " + v + " ns");
                }
            }
        }

        @Override
        public long draw(SplittableRandom random) {
            return values[random.nextInt(values.length)];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Samples s && Arrays.equals(values, s.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "Samples" + Arrays.toString(values);
        }
    }

    Distribution ZERO = new Fixed(0);

    public static Distribution fit(long... measured) {
        return new Samples(measured);
    }
}
