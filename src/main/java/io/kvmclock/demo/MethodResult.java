package io.kvmclock.demo;

import io.kvmclock.restore.RestoreMethod;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/** One method in the demo: it ran (its trials), or it could not run here (why not). */
public sealed interface MethodResult {

    RestoreMethod method();

    default String name() {
        return method().name();
    }

    /** The method could not run with this host's capabilities, or its first restore said so. */
    record NotRun(RestoreMethod method, String why) implements MethodResult {}

    /** All trials of a method that ran: each measured or failed. */
    record Ran(RestoreMethod method, List<TrialResult> trials) implements MethodResult {
        public Ran {
            trials = List.copyOf(trials);
        }

        public List<TrialResult.Measured> ok() {
            return trials.stream().<TrialResult.Measured>mapMulti((t, ok) -> {
                if (t instanceof TrialResult.Measured m) {
                    ok.accept(m);
                }
            }).toList();
        }

        public long failures() {
            return trials.size() - ok().size();
        }

        /** How many distinct failure reasons the text, the JSON and the HTML report show. */
        public static final int REASONS_SHOWN = 5;

        /** The distinct reasons of the failed trials, in first-seen order. */
        public List<String> failureReasons() {
            return trials.stream().<String>mapMulti((t, why) -> {
                switch (t) {
                    case TrialResult.Failed f -> why.accept(f.why());
                    case TrialResult.Unsupported u -> why.accept(u.describe());
                    case TrialResult.Measured m -> { }
                }
            }).distinct().toList();
        }

        public long backwards() {
            return count(TrialResult.Measured::steppedBackwards);
        }

        public long fallbacks() {
            return count(TrialResult.Measured::fellBack);
        }

        public long[] kvmclockErrors() {
            return column(TrialResult.Measured::kvmclockErrorNs);
        }

        /** Trials whose guest TSC ran scaled on the destination (a migration to a host at another rate). */
        public long scaledTrials() {
            return count(TrialResult.Measured::tscScaled);
        }

        public long[] tscErrors() {
            return column(TrialResult.Measured::tscErrorCycles);
        }

        public long[] hostTimeErrors() {
            return column(TrialResult.Measured::hostTimeErrorNs);
        }

        public long[] restoreMicros() {
            return column(TrialResult.Measured::restoreMicros);
        }

        public long[] rounds() {
            return column(TrialResult.Measured::rounds);
        }

        /** Trials where the method stopped at its time budget (precise --budget) rather than at its bound. */
        public long budgetHits() {
            return count(TrialResult.Measured::budgetHit);
        }

        /** Time before the blackout per successful trial (new VM, vCPU, the method's preparation), in ns. */
        public long[] prepareNs() {
            return column(t -> t.timing().prepareNs());
        }

        /** The restore's phases over the successful trials. */
        public List<PhaseStats> restorePhases() {
            return PhaseStats.of(ok().stream().map(t -> t.timing().restore()).toList());
        }

        /** The method's own preparation before the blackout, phase by phase, over the successful trials. */
        public List<PhaseStats> preparedPhases() {
            return PhaseStats.of(ok().stream().map(t -> t.timing().prepared()).toList());
        }

        /** Each distinct note the method's restores made, with how many trials made it, in first-seen order. */
        public Map<String, Long> notes() {
            Map<String, Long> counts = new LinkedHashMap<>();
            for (TrialResult.Measured t : ok()) {
                for (String n : t.notes()) {
                    counts.merge(n, 1L, Long::sum);
                }
            }
            return counts;
        }

        private long count(Predicate<TrialResult.Measured> p) {
            return ok().stream().filter(p).count();
        }

        private long[] column(ToLongFunction<TrialResult.Measured> f) {
            return ok().stream().mapToLong(f).toArray();
        }

        /** How many distinct notes the text and the HTML report show, most frequent first; the JSON has them all. */
        public static final int NOTES_SHOWN = 4;

        /** {@link #notes()} most frequent first (first-seen order among equals). */
        public List<Map.Entry<String, Long>> notesByCount() {
            return notes().entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).toList();
        }

        /** Share of all trials with |a| within {@code boundNs} (a failed trial is not within it). */
        public double shareWithin(long boundNs) {
            long[] a = kvmclockErrors();
            if (a.length == 0) {
                return 0;
            }
            long n = Arrays.stream(a).filter(v -> Math.abs(v) <= boundNs).count();
            return (double) n / trials.size();
        }
    }
}
