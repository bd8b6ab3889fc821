package io.kvmclock.demo;

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
 *   <li>{@code notes}: what the method said it did (its RestoreReport notes), e.g. why it fell back.</li>
 * </ul>
 */
public record TrialResult(long kvmclockErrorNs, long tscErrorCycles, long hostTimeErrorNs, long restoreMicros,
                          boolean steppedBackwards, int rounds, boolean fellBack, boolean tscScaled,
                          String failure, List<String> notes) {

    public TrialResult {
        notes = List.copyOf(notes);
    }

    public static TrialResult failed(String why, long restoreMicros) {
        return new TrialResult(0, 0, 0, restoreMicros, false, 0, false, false, why, List.of());
    }

    public boolean ok() {
        return failure == null;
    }
}
