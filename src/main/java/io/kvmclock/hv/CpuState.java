package io.kvmclock.hv;

/**
 * A vCPU's architectural state needed to resume it elsewhere, as the kernel's own structs
 * (struct kvm_regs and struct kvm_sregs, raw bytes), so that it round-trips exactly.
 */
public record CpuState(byte[] regs, byte[] sregs) {}
