// Measures what io.kvmclock.sim.Latency.thisMachine() is fitted to, with the same ioctls the model models:
// the gap inside KVM_SET_CLOCK(REALTIME) between the new master clock reference and the realtime read
// (KVM_GET_CLOCK, KVM_SET_CLOCK(clock, realtime), KVM_GET_CLOCK: the second clock minus the first minus the
// host TSC elapsed), the cost of one KVM_GET_CLOCK, and the KVM_RUN round trip of a real-mode RDTSC/OUT loop.
// Build and run as root: gcc -O2 -o /tmp/m tools/measure-sim-latency.c && /tmp/m 200
// A stopgap until the FFM backend (io.kvmclock.kvm) can take the same measurements from Java.
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
static void die(const char *m) { perror(m); exit(1); }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200;
    int kvm = open("/dev/kvm", O_RDWR); if (kvm < 0) die("open");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0); if (vm < 0) die("vm");
    size_t sz = 0x10000;
    uint8_t *mem = mmap(0, sz, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
    struct kvm_userspace_memory_region r = {.slot=0, .guest_phys_addr=0, .memory_size=sz, .userspace_addr=(uint64_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) die("mem");
    uint8_t code[] = {0x66,0xb9,0x01,0x4d,0x56,0x4b, 0x66,0xb8,0x01,0x20,0,0, 0x66,0x31,0xd2, 0x0f,0x30,
                      0x0f,0x31, 0x66,0xe7,0x10, 0xeb,0xf9};
    memcpy(mem + 0x1000, code, sizeof code);
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0); if (vcpu < 0) die("vcpu");
    int rsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(0, rsz, PROT_READ|PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs s; ioctl(vcpu, KVM_GET_SREGS, &s); s.cs.base = 0; s.cs.selector = 0; ioctl(vcpu, KVM_SET_SREGS, &s);
    struct kvm_regs g; memset(&g, 0, sizeof g); g.rip = 0x1000; g.rflags = 2; ioctl(vcpu, KVM_SET_REGS, &g);
    long khz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
    uint32_t prev = 0; long long rt_sum = 0; int rt_n = 0; uint32_t rts[1000];
    for (int i = 0; i < 1000; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("run");
        if (run->exit_reason != KVM_EXIT_IO) { fprintf(stderr, "exit %d\n", run->exit_reason); return 1; }
        uint32_t lo = *(uint32_t *)((uint8_t *)run + run->io.data_offset);
        if (i > 0) rts[rt_n++] = lo - prev;
        prev = lo;
    }
    struct kvm_clock_data c0, c1, c2;
    memset(&c0, 0, sizeof c0); ioctl(vm, KVM_GET_CLOCK, &c0);
    printf("tsc_khz %ld flags 0x%x\n", khz, c0.flags);
    printf("run_roundtrip_ns");
    for (int i = 0; i < 40; i++) printf(" %.0f", rts[i] * 1e6 / khz);
    printf("\n");
    printf("set_clock_gap_ns");
    double gsum = 0;
    for (int i = 0; i < n; i++) {
        memset(&c0, 0, sizeof c0); memset(&c1, 0, sizeof c1);
        if (ioctl(vm, KVM_GET_CLOCK, &c0) < 0) die("get");
        struct kvm_clock_data set = {.clock = c0.clock, .flags = KVM_CLOCK_REALTIME, .realtime = c0.realtime};
        if (ioctl(vm, KVM_SET_CLOCK, &set) < 0) die("set");
        if (ioctl(vm, KVM_GET_CLOCK, &c1) < 0) die("get");
        double expect = (double)(c1.host_tsc - c0.host_tsc) * 1e6 / khz;
        double gap = (double)(int64_t)(c1.clock - c0.clock) - expect;
        printf(" %.0f", gap); gsum += gap;
    }
    printf("\nset_clock_gap_mean_ns %.1f\n", gsum / n);
    printf("get_clock_ns");
    for (int i = 0; i < 40; i++) {
        ioctl(vm, KVM_GET_CLOCK, &c1); ioctl(vm, KVM_GET_CLOCK, &c2);
        printf(" %.0f", (double)(c2.host_tsc - c1.host_tsc) * 1e6 / khz);
    }
    printf("\n");
    return 0;
}
