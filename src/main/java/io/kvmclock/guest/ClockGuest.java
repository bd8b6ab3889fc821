package io.kvmclock.guest;

import static io.kvmclock.hv.ClockGuestAbi.CODE_GPA;
import static io.kvmclock.hv.ClockGuestAbi.PORT_TSC_HI;
import static io.kvmclock.hv.ClockGuestAbi.PORT_TSC_LO;
import static io.kvmclock.hv.ClockGuestAbi.PVCLOCK_GPA;

import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.GuestMemory;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.time.PvclockTimeInfo;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The clock guest of {@link io.kvmclock.hv.ClockGuestAbi}: real-mode code that enables kvmclock and then
 * reports its TSC through port I/O forever. It works only through the hv interfaces, so the model backend
 * runs it the same way. One vCPU; the host drives it synchronously (each {@link #readTsc} runs it until it
 * has reported one TSC value), so between calls the guest is stopped.
 */
public final class ClockGuest {

    /** The guest's code, placed at {@code CODE_GPA}. */
    public static final byte[] CODE = assemble();

    private static final int MAX_EXITS_PER_READ = 16;
    private static final int MAX_PVCLOCK_RETRIES = 1000;

    private final Vm vm;
    private final Vcpu vcpu;

    private ClockGuest(Vm vm, Vcpu vcpu) {
        this.vm = vm;
        this.vcpu = vcpu;
    }

    private static byte[] assemble() {
        if (PORT_TSC_LO > 0xff || PORT_TSC_HI > 0xff || PVCLOCK_GPA >= (1L << 32)) {
            throw new IllegalStateException("the ABI's ports must fit OUT imm8 and the pvclock must lie below 4 GiB");
        }
        Code c = new Code();
        c.bytes(0x66, 0xB9).imm32(Vcpu.MSR_KVM_SYSTEM_TIME_NEW); // mov ecx, imm32  (0x66: 32-bit operand in real mode)
        c.bytes(0x66, 0xB8).imm32(PVCLOCK_GPA | 1);               // mov eax, imm32  pvclock address | enable bit
        c.bytes(0x66, 0x31, 0xD2);                                // xor edx, edx    high half of the MSR value
        c.bytes(0x0F, 0x30);                                      // wrmsr           MSR[ecx] = edx:eax
        int loop = c.position();
        c.bytes(0x0F, 0x31);                                      // rdtsc           edx:eax = TSC
        c.bytes(0x66, 0xE7, PORT_TSC_LO);                         // out imm8, eax   low 32 bits -> exit
        c.bytes(0x66, 0x89, 0xD0);                                // mov eax, edx
        c.bytes(0x66, 0xE7, PORT_TSC_HI);                         // out imm8, eax   high 32 bits -> exit
        c.bytes(0xEB).rel8(loop);                                 // jmp short loop
        return c.toArray();
    }

    /** A tiny byte emitter: little-endian immediates and a short backward jump. */
    private static final class Code {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Code bytes(int... bs) {
            for (int b : bs) {
                out.write(b);
            }
            return this;
        }

        Code imm32(long v) {
            for (int i = 0; i < 4; i++) {
                out.write((int) (v >>> (8 * i)) & 0xff);
            }
            return this;
        }

        /** rel8 is relative to the end of the 2-byte jmp, i.e. to the position after this byte. */
        Code rel8(int target) {
            int rel = target - (out.size() + 1);
            if (rel < -128 || rel > 127) {
                throw new IllegalStateException("short jump out of range: " + rel);
            }
            out.write(rel & 0xff);
            return this;
        }

        int position() {
            return out.size();
        }

        byte[] toArray() {
            return out.toByteArray();
        }
    }

    /** Loads the code into {@code vm}, creates vCPU 0 and points it at the code in real mode. */
    public static ClockGuest boot(Vm vm) {
        return boot(vm, vm.createVcpu(0));
    }

    /** As {@link #boot(Vm)} with a vCPU the caller created (e.g. after setting its TSC). */
    public static ClockGuest boot(Vm vm, Vcpu vcpu) {
        vm.memory().write(CODE_GPA, CODE);
        vcpu.resetToRealMode(CODE_GPA);
        return new ClockGuest(vm, vcpu);
    }

    public Vm vm() {
        return vm;
    }

    public Vcpu vcpu() {
        return vcpu;
    }

    /**
     * Runs the guest until it has reported one TSC value (a low-half exit followed by a high-half exit). The
     * guest read that TSC before both exits, i.e. between this call's start and its return.
     */
    public long readTsc() {
        long lo = 0;
        boolean haveLo = false;
        for (int i = 0; i < MAX_EXITS_PER_READ; i++) {
            VcpuExit exit = vcpu.run();
            switch (exit) {
                case VcpuExit.IoOut(int port, int size, long value) when port == PORT_TSC_LO && size == 4 -> {
                    lo = value;
                    haveLo = true;
                }
                case VcpuExit.IoOut(int port, int size, long value) when port == PORT_TSC_HI && size == 4 -> {
                    if (haveLo) {
                        return (value << 32) | lo;
                    }
                }
                default -> throw new IllegalStateException("the clock guest did not report its TSC: " + exit);
            }
        }
        throw new IllegalStateException("the clock guest made " + MAX_EXITS_PER_READ + " exits without a full TSC report");
    }

    /**
     * The pvclock KVM keeps in guest memory, read as a guest does: version, body, version again, retried until
     * both versions are the same even number.
     */
    public PvclockTimeInfo readPvclock() {
        GuestMemory mem = vm.memory();
        for (int i = 0; i < MAX_PVCLOCK_RETRIES; i++) {
            long before = u32(mem.read(PVCLOCK_GPA, 4));
            PvclockTimeInfo p = PvclockTimeInfo.decode(mem.read(PVCLOCK_GPA, PvclockTimeInfo.SIZE));
            long after = u32(mem.read(PVCLOCK_GPA, 4));
            if ((before & 1) == 0 && before == after && p.version() == before) {
                if (p.version() == 0) {
                    throw new IllegalStateException("the guest's pvclock is still empty: run the guest (readTsc) "
                            + "so it enables kvmclock and KVM fills it");
                }
                return p;
            }
            Thread.onSpinWait();
        }
        throw new IllegalStateException("the pvclock version kept changing over " + MAX_PVCLOCK_RETRIES + " reads");
    }

    private static long u32(byte[] b) {
        return Integer.toUnsignedLong(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    /** The guest's kvmclock at guest TSC {@code tsc}, from the pvclock now in guest memory. */
    public long kvmclockAt(long tsc) {
        return readPvclock().read(tsc);
    }

    /**
     * Stops the guest where it is and records what another VM needs to continue it: CPU state, the kvmclock
     * MSR (the guest wrote it once at boot and never again), the guest TSC, and guest memory unless it lives
     * in a shared file the next VM maps itself.
     */
    public Snapshot pause(boolean withMemory) {
        CpuState cpu = vcpu.saveCpuState();
        long systemTime = vcpu.getMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW);
        long tsc = vcpu.getMsr(Vcpu.MSR_IA32_TSC);
        byte[] memory = withMemory ? vm.memory().read(0, Math.toIntExact(vm.memory().size())) : new byte[0];
        return new Snapshot(cpu, systemTime, tsc, memory);
    }

    /**
     * Continues a paused guest in {@code vm} on {@code vcpu}: memory (when the snapshot holds it), CPU state and
     * the kvmclock MSR. The guest's TSC and the VM's kvmclock are left to the caller: how to carry them over
     * is what this project compares.
     */
    public static ClockGuest resume(Vm vm, Vcpu vcpu, Snapshot snapshot) {
        if (snapshot.memory().length > 0) {
            if (snapshot.memory().length != vm.memory().size()) {
                throw new IllegalArgumentException("the snapshot holds " + snapshot.memory().length
                        + " bytes of guest memory, the VM has " + vm.memory().size());
            }
            vm.memory().write(0, snapshot.memory());
        }
        vcpu.restoreCpuState(snapshot.cpu());
        vcpu.setMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, snapshot.systemTimeMsr());
        return new ClockGuest(vm, vcpu);
    }

    /** A paused clock guest; {@code memory} is empty when guest memory is in a shared file. */
    public record Snapshot(CpuState cpu, long systemTimeMsr, long tsc, byte[] memory) {
        private static final int MAGIC = 0x4b434753; // "KCGS"

        public Snapshot {
            memory = memory.clone();
        }

        @Override
        public byte[] memory() {
            return memory.clone();
        }

        /** A flat little-endian encoding, for handing a paused guest to another process. */
        public byte[] toBytes() {
            ByteBuffer b = ByteBuffer.allocate(4 * 4 + cpu.regs().length + cpu.sregs().length + 16 + memory.length)
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(MAGIC).putInt(cpu.regs().length).put(cpu.regs()).putInt(cpu.sregs().length).put(cpu.sregs());
            b.putLong(systemTimeMsr).putLong(tsc).putInt(memory.length).put(memory);
            return b.array();
        }

        public static Snapshot fromBytes(byte[] bytes) {
            try {
                ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
                if (b.getInt() != MAGIC) {
                    throw new IllegalArgumentException("not a clock guest snapshot (bad magic)");
                }
                byte[] regs = block(b);
                byte[] sregs = block(b);
                long msr = b.getLong();
                long tsc = b.getLong();
                byte[] mem = block(b);
                if (b.hasRemaining()) {
                    throw new IllegalArgumentException("clock guest snapshot has " + b.remaining() + " trailing bytes");
                }
                return new Snapshot(new CpuState(regs, sregs), msr, tsc, mem);
            } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
                throw new IllegalArgumentException("clock guest snapshot is truncated or corrupt", e);
            }
        }

        /** A length-prefixed block, its length checked against what is left before anything is allocated. */
        private static byte[] block(ByteBuffer b) {
            int n = b.getInt();
            if (n < 0 || n > b.remaining()) {
                throw new IllegalArgumentException("clock guest snapshot is truncated or corrupt: a block of " + n
                        + " bytes with " + b.remaining() + " left");
            }
            byte[] out = new byte[n];
            b.get(out);
            return out;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Snapshot s && Arrays.equals(cpu.regs(), s.cpu.regs())
                    && Arrays.equals(cpu.sregs(), s.cpu.sregs()) && systemTimeMsr == s.systemTimeMsr
                    && tsc == s.tsc && Arrays.equals(memory, s.memory);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(cpu.regs()) * 31 + Long.hashCode(tsc);
        }

        @Override
        public String toString() {
            return String.format("Snapshot[systemTimeMsr=0x%x, tsc=%s, memory=%d bytes]", systemTimeMsr,
                    Long.toUnsignedString(tsc), memory.length);
        }
    }
}
