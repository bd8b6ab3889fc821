package io.kvmclock.demo;

import io.kvmclock.restore.Phase;
import io.kvmclock.restore.RestoreReport;
import io.kvmclock.restore.UnsupportedReason;
import java.util.List;

/** One live update as the guest saw it: measured, failed, or not possible with this method here. */
public sealed interface TrialResult {

    /**
     * Where one live update's time went: {@code prepareNs} before the blackout (the new VM, its vCPUs and the
     * method's own preparation), {@code prepared} the method's part of that, {@code restore} the restore's
     * phases (empty for methods that do not time their parts).
     */
    record Timing(long prepareNs, List<Phase> prepared, List<Phase> restore) {
        public static final Timing NONE = new Timing(0, List.of(), List.of());

        public Timing {
            prepared = List.copyOf(prepared);
            restore = List.copyOf(restore);
        }
    }

    /** The same trial with its preparation before the blackout (only a measured trial keeps its timing). */
    default TrialResult withPreparation(long prepareNs, List<Phase> prepared) {
        return this;
    }

    /**
     * The restore succeeded and the guest ran on it.
     * <ul>
     *   <li>{@code kvmclockErrorNs} (a): the restored pvclock minus the saved pvclock, both evaluated at the first
     *       guest TSC reported after resume: zero when the kvmclock is still the same function of the TSC;</li>
     *   <li>{@code tscErrorCycles} (b): the guest TSC when the restore returned minus the one the method's TSC
     *       policy calls for, derived from the saved state and the host's clocks alone
     *       ({@link RestoreMeasurement#expectedGuestTsc}: freeze, the TSC at capture; advance, that plus the time
     *       since, in host cycles where the host TSC kept counting, else in realtime);</li>
     *   <li>{@code hostTimeErrorNs} (c): the guest's kvmclock minus host reference time after resume (saved
     *       kvmclock plus the realtime elapsed since capture), both at one KVM_GET_CLOCK instant;</li>
     *   <li>{@code restoreMicros} (d): wall time of the restore method alone;</li>
     *   <li>{@code steppedBackwards}: the first kvmclock reading after resume was below the last one before;</li>
     *   <li>{@code tscScaled}: the guest TSC ran scaled on the destination (guest = scale(host) + offset);
     *       (b) and (c) account for it;</li>
     *   <li>{@code reported}: what the method said it did;</li>
     *   <li>{@code timing}: where the time went, before the blackout and in the restore.</li>
     * </ul>
     */
    record Measured(long kvmclockErrorNs, long tscErrorCycles, long hostTimeErrorNs, long restoreMicros,
                    boolean steppedBackwards, boolean tscScaled, Reported reported, Timing timing) implements TrialResult {

        @Override
        public Measured withPreparation(long prepareNs, List<Phase> prepared) {
            return new Measured(kvmclockErrorNs, tscErrorCycles, hostTimeErrorNs, restoreMicros, steppedBackwards, tscScaled,
                    reported, new Timing(prepareNs, prepared, timing.restore()));
        }

        public int rounds() {
            return reported.rounds();
        }

        public boolean fellBack() {
            return reported.fellBack();
        }

        public List<String> notes() {
            return reported.notes();
        }

        public boolean budgetHit() {
            return reported.budgetHit();
        }
    }

    /**
     * What the method said about its restore (its RestoreReport): {@code rounds} of KVM_SET_CLOCK; {@code fellBack},
     * it could not do what it is for here and used its fallback; {@code notes}, what it did and why (e.g. why it
     * fell back); {@code budgetHit}, it stopped at its time budget rather than at its bound (precise --budget).
     */
    record Reported(int rounds, boolean fellBack, List<String> notes, boolean budgetHit) {
        public Reported {
            notes = List.copyOf(notes);
        }

        public static Reported of(RestoreReport r) {
            return new Reported(r.rounds(), r.fellBack(), r.notes(), r.budgetHit());
        }
    }

    /** The restore failed (or took no effect and the guest was not resumed on it); {@code why} says how. */
    record Failed(String why, long restoreMicros) implements TrialResult {}

    /** The method cannot run on this kernel or host (UnsupportedMethodException); {@code why} says what is missing. */
    record Unsupported(UnsupportedReason why) implements TrialResult {
        /** As the user reads it where a failure would stand. */
        public String describe() {
            return why.describe();
        }
    }
}
