package io.kvmclock.demo;

import io.kvmclock.restore.Phase;
import java.util.List;

/**
 * One live update as the guest saw it.
 * <ul>
 *   <li>{@code kvmclockErrorNs} (a): the restored pvclock minus the saved pvclock, both evaluated at the first
 *       guest TSC reported after resume: zero when the kvmclock is still the same function of the TSC;</li>
 *   <li>{@code tscErrorCycles} (b): the guest's TSC offset after restore minus the offset the method's TSC
 *       policy calls for (advance: the saved offset on a host whose TSC kept counting; freeze: the guest TSC
 *       resumes at its value at capture). guest TSC = host TSC + offset, so this is the guest TSC error;</li>
 *   <li>{@code hostTimeErrorNs} (c): the guest's kvmclock minus host reference time after resume (saved
 *       kvmclock plus the realtime elapsed since capture), both at one KVM_GET_CLOCK instant;</li>
 *   <li>{@code restoreMicros} (d): wall time of the restore method alone;</li>
 *   <li>{@code steppedBackwards}: the first kvmclock reading after resume was below the last one before;</li>
 *   <li>{@code fellBack}: the method could not do what it is for here and used its fallback (see its notes);</li>
 *   <li>{@code tscScaled}: the guest TSC ran scaled on the destination (guest = scale(host) + offset);
 *       (b) and (c) account for it;</li>
 *   <li>{@code notes}: what the method said it did (its RestoreReport notes), e.g. why it fell back;</li>
 *   <li>{@code budgetHit}: the method stopped at its time budget rather than at its bound (precise --budget);</li>
 *   <li>{@code timing}: where the time went, before the blackout and in the restore.</li>
 * </ul>
 */
public record TrialResult(long kvmclockErrorNs, long tscErrorCycles, long hostTimeErrorNs, long restoreMicros,
                          boolean steppedBackwards, int rounds, boolean fellBack, boolean tscScaled,
                          String failure, List<String> notes, boolean budgetHit, Timing timing) {

    /**
     * Where one live update's time went: {@code prepareNs} before the blackout (the new VM, its vCPUs and the
     * method's own preparation), {@code prepared} the method's part of that, {@code restore} the restore's
     * phases (empty for methods that do not time their parts).
     */
    public record Timing(long prepareNs, List<Phase> prepared, List<Phase> restore) {
        public static final Timing NONE = new Timing(0, List.of(), List.of());

        public Timing {
            prepared = List.copyOf(prepared);
            restore = List.copyOf(restore);
        }
    }

    public TrialResult {
        notes = List.copyOf(notes);
    }

    public static TrialResult failed(String why, long restoreMicros) {
        return new TrialResult(0, 0, 0, restoreMicros, false, 0, false, false, why, List.of(), false, Timing.NONE);
    }

    /** The same trial with its preparation before the blackout. */
    public TrialResult withPreparation(long prepareNs, List<Phase> prepared) {
        return new TrialResult(kvmclockErrorNs, tscErrorCycles, hostTimeErrorNs, restoreMicros, steppedBackwards, rounds,
                fellBack, tscScaled, failure, notes, budgetHit, new Timing(prepareNs, prepared, timing.restore()));
    }

    public boolean ok() {
        return failure == null;
    }
}
