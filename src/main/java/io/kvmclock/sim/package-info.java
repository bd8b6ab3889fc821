/**
 * The embedded model of a Linux host and KVM's x86 clock subsystem, behind the {@link io.kvmclock.hv}
 * interfaces: start with {@link io.kvmclock.sim.SimHypervisor#create(SimHostConfig, long)}.
 *
 * <p><b>Deterministic.</b> A single time line in ns moves only through {@code Hypervisor.elapse} and the
 * modelled latencies of ioctls and vCPU entries; those latencies come from one {@link java.util.SplittableRandom}
 * seeded by the caller; kernel work items (the 100 ms kvmclock update, the 300 s kvmclock sync, the proposed
 * masterclock sync) fire on that time line in a fixed order. No wall clock, thread or hash order is read,
 * so the same seed and calls give the same results bit for bit.
 *
 * <p><b>Modelled</b> (arch/x86/kvm/x86.c, kernel/time): TSC at a true frequency separate from the calibrated
 * tsc_khz; CLOCK_MONOTONIC_RAW through the clocksource mult/shift as a 128-bit floor; CLOCK_REALTIME with
 * steps and slews; kvm_synchronize_tsc and TSC generations; kvm_track_tsc_matching (6.18 rule, or the
 * pre-2023 rule that forced an update on every hotplug); pvclock_update_vm_gtod_copy and use_master_clock;
 * KVM_REQ_MASTERCLOCK_UPDATE / GLOBAL_CLOCK_UPDATE / CLOCK_UPDATE served at vCPU entry in
 * vcpu_enter_guest's order; kvm_guest_time_update writing the pvclock (odd then even version, the
 * GUEST_STOPPED bit kept until the guest clears it, the scaled tsc_khz truncated as 6.18 does, or in Hz
 * when the host has the CLOCK_GUEST series, whose patch 02 makes that change);
 * KVM_GET/SET_CLOCK, KVM_GET/SET_TSC_KHZ (vCPU and VM scope), the TSC offset attribute, IA32_TSC and
 * MSR_KVM_SYSTEM_TIME_NEW, KVMCLOCK_CTRL, KVM_[GS]ET_CLOCK_GUEST (docs/kvm-clock.md), kexec and a second
 * host; the kvm_pvm vendor module (TSC offset and IA32_TSC writes ignored, as measured); per-ioctl durations,
 * the KVM_SET_CLOCK gap and bulk guest memory copies measured through the Java backend, either on the host it
 * runs on ({@link io.kvmclock.sim.LatencyCalibration}, with {@link io.kvmclock.sim.SimHostConfig#of} built
 * from the probe) or stored with the host they came from ({@link io.kvmclock.sim.Latency#pvmIntel202611()}).
 *
 * <p><b>Not modelled</b>: an x86 CPU (only the clock guest's effects run), guest-initiated TSC writes and
 * TSC_ADJUST, TSC catch-up mode (a rate above the host without scaling: refused with EOPNOTSUPP), a
 * clocksource change at run time or a backwards host TSC (only the static "clocksource is not TSC" switch),
 * vCPUs migrating between physical CPUs, the Hyper-V and Xen clocks, suspend (offs_boot is a constant),
 * NTP adjustment of CLOCK_MONOTONIC (only raw and realtime exist), JVM pauses (GC, JIT) and host load
 * between ioctls (the real tails are longer: only the fitted ventiles are resampled), and the shared memory file of
 * {@link io.kvmclock.hv.VmConfig} (guest memory is a Java array; a kexec does not carry it).
 */
package io.kvmclock.sim;
