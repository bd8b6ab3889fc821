package io.kvmclock.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The parts of the inspector that need no process: maps lines, QEMU's -m, the pvclock check, the choice of hits. */
class InspectPartsTest {
    private static final long KHZ = 2_345_678;
    private static final Mapping RAM = new Mapping(0x7f0000000000L, 0x7f0000200000L, "rw-p", 0, "");

    @Test
    void mapsLinesParseWithAndWithoutPaths() {
        Mapping m = Mapping.parseLine("7fb854a00000-7fb854c00000 rw-p 00000000 00:00 0 ");
        assertEquals(0x7fb854a00000L, m.start());
        assertEquals(2L << 20, m.size());
        assertTrue(m.mayBeGuestRam());
        Mapping lib = Mapping.parseLine("7f2a196c7000-7f2a196c8000 rw-p 00023000 fe:00 328713   /usr/lib/x y/libjimage.so");
        assertEquals("/usr/lib/x y/libjimage.so", lib.path());
        assertFalse(lib.mayBeGuestRam(), "a library's data is not guest RAM");
        assertTrue(Mapping.parseLine("7f00-8f00 rw-s 0 00:01 5 /memfd:pc.ram (deleted)").mayBeGuestRam());
        assertFalse(Mapping.parseLine("7f00-8f00 rwxp 0 00:00 0").mayBeGuestRam(), "JIT code");
    }

    @Test
    void guestRamIsTheWholeMibNoReserveMappingNotAMallocArena() {
        Mapping arena = Mapping.parseLine("7f7090000000-7f7090100000 rw-p 00000000 00:00 0");
        Mapping arenaRest = Mapping.parseLine("7f7090100000-7f7094000000 ---p 00000000 00:00 0");
        Mapping guest = Mapping.parseLine("7f70ec400000-7f70ec600000 rw-p 00000000 00:00 0");
        Mapping heap = Mapping.parseLine("687400000-69f000000 rw-p 00000000 00:00 0");
        GuestRam ram = GuestRam.classify(List.of(heap, arena, arenaRest, guest), List.of(arena, guest), Optional.empty());
        assertEquals(List.of(guest), ram.likely());
        assertEquals(List.of(heap, arena), ram.others(), "scanned only if the likely ones hold no pvclock");
        assertEquals(2L << 20, ram.bytes());
    }

    /**
     * A child JVM's maps as seen once in five starts: its 2 MiB memory slot was mapped just below a malloc
     * arena and the kernel merged it with the arena's heap (same flags), so no mapping was a whole number of
     * MiB with MAP_NORESERVE and the size fell back to the JVM heap and thread stacks: 72 MiB.
     */
    @Test
    void guestRamMergedWithAMallocArenasHeapIsThePartBelowTheArena() {
        Mapping merged = Mapping.parseLine("7f1283e00000-7f1284021000 rw-p 00000000 00:00 0");
        Mapping arenaRest = Mapping.parseLine("7f1284021000-7f1288000000 ---p 00000000 00:00 0");
        List<Mapping> maps = new ArrayList<>(List.of(Mapping.parseLine("fc000000-ffe00000 rw-p 00000000 00:00 0")));
        for (long stack = 0x7f1290000000L; maps.size() <= 10; stack += 0x101000) {
            maps.add(new Mapping(stack, stack + (1 << 20), "rw-p", 0, ""));
        }
        maps.add(1, merged);
        maps.add(2, arenaRest);
        GuestRam ram = GuestRam.classify(maps, List.of(merged), Optional.empty());
        assertEquals(List.of(Mapping.parseLine("7f1283e00000-7f1284000000 rw-p 00000000 00:00 0")), ram.likely());
        assertTrue(ram.others().contains(Mapping.parseLine("7f1284000000-7f1284021000 rw-p 00000000 00:00 0")),
                "the arena's heap is still scanned, with the others: " + ram.others());
        assertEquals(2L << 20, ram.bytes());
    }

    @Test
    void qemuMemoryOptionIsReadInItsForms() {
        assertEquals(Optional.of(4L << 30), ProcFs.qemuMemory(List.of("qemu", "-m", "4G")));
        assertEquals(Optional.of(4096L << 20), ProcFs.qemuMemory(List.of("qemu", "-m", "4096")));
        assertEquals(Optional.of(16L << 20), ProcFs.qemuMemory(List.of("qemu", "-m", "size=16M,slots=2,maxmem=1G")));
        assertEquals(Optional.empty(), ProcFs.qemuMemory(List.of("qemu", "-smp", "2")));
    }

    @Test
    void onlyWhatThisHostsKvmCouldHaveWrittenCounts() {
        PvclockScanner s = new PvclockScanner(KHZ, false);
        PvclockTimeInfo good = PvclockTimeInfo.of(4, 123_456_789, 5_000_000, TimeScale.forGuestKhz(KHZ), 1);
        assertTrue(s.check(RAM.start(), good.encode(), RAM).isPresent());
        assertFalse(s.check(RAM.start(), PvclockTimeInfo.of(5, 123_456_789, 5_000_000, TimeScale.forGuestKhz(KHZ), 1)
                .encode(), RAM).isPresent(), "odd version: being written");
        assertFalse(s.check(RAM.start(), new PvclockTimeInfo(4, 1, 123_456_789, 5_000_000,
                TimeScale.forGuestKhz(KHZ).mul(), TimeScale.forGuestKhz(KHZ).shift(), 1, 0).encode(), RAM).isPresent(),
                "a non-zero pad");
        assertFalse(s.check(RAM.start(), PvclockTimeInfo.of(4, 123_456_789, 5_000_000, TimeScale.forGuestKhz(KHZ), 4)
                .encode(), RAM).isPresent(), "a flag KVM does not set");
        PvclockTimeInfo other = PvclockTimeInfo.of(4, 123_456_789, 5_000_000, TimeScale.forGuestKhz(1_999_999), 1);
        assertFalse(s.check(RAM.start(), other.encode(), RAM).isPresent(), "another rate where KVM cannot scale");
        PvclockScanner.Found scaled = new PvclockScanner(KHZ, true).check(RAM.start(), other.encode(), RAM).orElseThrow();
        assertEquals(1_999_999, scaled.encodedKhz(), "the exact rate a scaled guest's mul/shift encode");
        assertFalse(scaled.hostRate());
    }

    @Test
    void theNewestReferenceAtAnAlignedPlaceIsTheVcpusAndCopiesComeLast() {
        TimeScale t = TimeScale.forGuestKhz(KHZ);
        PvclockTimeInfo now = PvclockTimeInfo.of(6, 900, 2_000, t, 1);
        PvclockTimeInfo old = PvclockTimeInfo.of(4, 500, 1_000, t, 1);
        PvclockScanner.Found copy = new PvclockScanner.Found(RAM.start() + 0x28, RAM, now, KHZ, true);
        PvclockScanner.Found real = new PvclockScanner.Found(RAM.start() + 0x1000, RAM, now, KHZ, true);
        PvclockScanner.Found stale = new PvclockScanner.Found(RAM.start() + 0x48, RAM, old, KHZ, true);
        assertEquals(List.of(real), Inspector.choose(List.of(stale, copy, real), 1));
        assertEquals(List.of(real), Inspector.choose(List.of(stale, copy, real, real), 2),
                "a second vCPU without kvmclock does not get the copy");
        PvclockScanner.Found second = new PvclockScanner.Found(RAM.start() + 0x1040, RAM, now, KHZ, true);
        assertEquals(List.of(real, second), Inspector.choose(List.of(copy, second, real), 2), "Linux's 64-byte stride");
    }
}
