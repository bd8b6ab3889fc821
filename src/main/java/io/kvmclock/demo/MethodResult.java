package io.kvmclock.demo;

import io.kvmclock.restore.DowntimePolicy;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** All trials of one method. {@code unsupported} is null when the method ran. */
public record MethodResult(String name, String summary, DowntimePolicy kvmclockPolicy, DowntimePolicy tscPolicy,
                           String unsupported, List<TrialResult> trials) {

    public boolean supported() {
        return unsupported == null;
    }

    public List<TrialResult> ok() {
        return trials.stream().filter(TrialResult::ok).toList();
    }

    public long failures() {
        return trials.stream().filter(t -> !t.ok()).count();
    }

    public long backwards() {
        return ok().stream().filter(TrialResult::steppedBackwards).count();
    }

    public long fallbacks() {
        return ok().stream().filter(TrialResult::fellBack).count();
    }

    public long[] kvmclockErrors() {
        return ok().stream().mapToLong(TrialResult::kvmclockErrorNs).toArray();
    }

    /** Trials whose guest TSC ran scaled on the destination (a migration to a host at another rate). */
    public long scaledTrials() {
        return ok().stream().filter(TrialResult::tscScaled).count();
    }

    public long[] tscErrors() {
        return ok().stream().mapToLong(TrialResult::tscErrorCycles).toArray();
    }

    public long[] hostTimeErrors() {
        return ok().stream().mapToLong(TrialResult::hostTimeErrorNs).toArray();
    }

    public long[] restoreMicros() {
        return ok().stream().mapToLong(TrialResult::restoreMicros).toArray();
    }

    public long[] rounds() {
        return ok().stream().mapToLong(TrialResult::rounds).toArray();
    }

    /** Trials where the method stopped at its time budget (precise --budget) rather than at its bound. */
    public long budgetHits() {
        return trials.stream().filter(TrialResult::budgetHit).count();
    }

    /** Time before the blackout per successful trial (new VM, vCPU, the method's preparation), in ns. */
    public long[] prepareNs() {
        return ok().stream().mapToLong(t -> t.timing().prepareNs()).toArray();
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
        for (TrialResult t : trials) {
            for (String n : t.notes()) {
                counts.merge(n, 1L, Long::sum);
            }
        }
        return counts;
    }

    /** Share of successful trials with |a| within {@code boundNs}. */
    public double shareWithin(long boundNs) {
        long[] a = kvmclockErrors();
        if (a.length == 0) {
            return 0;
        }
        long n = Arrays.stream(a).filter(v -> Math.abs(v) <= boundNs).count();
        return (double) n / trials.size();
    }
}
