package io.kvmclock.hv;

/**
 * The contract between the host and the clock guest (a few dozen bytes of real-mode code), shared by the
 * real backend, which runs the code, and the model, which reproduces its effects. After
 * {@link Vcpu#resetToRealMode(long)} at {@link #CODE_GPA} the guest:
 * <ol>
 *   <li>writes {@code PVCLOCK_GPA | 1} to MSR_KVM_SYSTEM_TIME_NEW (enables kvmclock there),</li>
 *   <li>then loops forever: RDTSC; OUT {@link #PORT_TSC_LO} with EAX (4 bytes); OUT {@link #PORT_TSC_HI}
 *       with EDX (4 bytes).</li>
 * </ol>
 * So each pair of KVM_RUN exits reports one guest TSC value, read before both exits.
 */
public final class ClockGuestAbi {
    private ClockGuestAbi() {}

    public static final long CODE_GPA = 0x1000;
    public static final long PVCLOCK_GPA = 0x2000;
    public static final int PORT_TSC_LO = 0x10;
    public static final int PORT_TSC_HI = 0x11;
}
