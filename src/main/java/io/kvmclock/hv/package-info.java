/**
 * The backend contract: a {@link io.kvmclock.hv.Hypervisor} makes {@link io.kvmclock.hv.Vm}s, which make
 * {@link io.kvmclock.hv.Vcpu}s. Two backends implement it: {@code io.kvmclock.kvm} (real /dev/kvm through FFM)
 * and {@code io.kvmclock.sim} (the embedded model). Restore methods, the demo and the analysis see only this
 * package, so they run unchanged on either. Methods mirror KVM ioctls one to one and fail the way the kernel
 * does, with a {@link io.kvmclock.hv.HvException} that names the call and keeps the errno.
 */
package io.kvmclock.hv;
