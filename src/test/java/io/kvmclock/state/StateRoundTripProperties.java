package io.kvmclock.state;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.hv.TscScale;
import io.kvmclock.state.StateFormatException.Reason;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Encode/decode is exact for every field, at every version this build writes, and robust to any bytes. */
class StateRoundTripProperties {

    @Provide
    Arbitrary<ClockState> states() {
        Arbitrary<Capture> capture = Combinators.combine(Arbitraries.of(CaptureKind.class), Arbitraries.longs(),
                Arbitraries.longs(), Arbitraries.longs()).as((k, a, b, c) -> new Capture(k, new HostClocks(a, b, c)));
        Arbitrary<HostInfo> host = Combinators.combine(strings(), Arbitraries.integers().greaterOrEqual(0),
                Arbitraries.longs().between(1, VcpuClockState.MAX_TSC_KHZ), strings(), strings())
                .as(HostInfo::new);
        Arbitrary<Optional<ClockCapabilities>> caps = Combinators.combine(Arbitraries.integers(),
                Arbitraries.of(true, false), Arbitraries.of(true, false), Arbitraries.of(true, false),
                Arbitraries.of(true, false), Arbitraries.of(true, false)).as(ClockCapabilities::new)
                .optional(0.8);
        Arbitrary<ClockData> clock = Combinators.combine(Arbitraries.longs(), Arbitraries.integers(),
                Arbitraries.longs(), Arbitraries.longs()).as(ClockData::new);
        Arbitrary<List<VcpuClockState>> vcpus = vcpus().list().ofMinSize(1).ofMaxSize(8)
                .uniqueElements(VcpuClockState::id);
        return Combinators.combine(capture, host, caps, clock, vcpus).as(ClockState::of);
    }

    private static Arbitrary<String> strings() {
        Arbitrary<String> base = Arbitraries.strings().withCharRange('\u0000', '\uD7FF').ofMaxLength(60);
        return Arbitraries.oneOf(base, base.map(s -> s + "\uD83D\uDD70"), Arbitraries.just(""));
    }

    private static Arbitrary<VcpuClockState> vcpus() {
        Arbitrary<TscRate> scaling = Arbitraries.oneOf(
                Arbitraries.just(TscRate.UNSCALED),
                Arbitraries.longs().filter(r -> r != 0 && r != -1L).map(r -> new TscRate.Scaled(TscScaling.VMX, r)),
                Arbitraries.longs().between(1, TscScaling.SVM.maxRatio() - 1)
                        .map(r -> new TscRate.Scaled(TscScaling.SVM, r)));
        Arbitrary<PvclockTimeInfo> pv = Combinators.combine(
                Arbitraries.longs().between(0, 0xFFFF_FFFFL).map(v -> v & ~1L), Arbitraries.longs(),
                Arbitraries.longs(), Arbitraries.longs().between(1, 0xFFFF_FFFFL),
                Arbitraries.integers().between(-32, 32), Arbitraries.integers().between(0, 255))
                .as((ver, tsc, sys, mul, shift, flags) -> new PvclockTimeInfo(ver, 0, tsc, sys, mul, shift, flags, 0));
        Arbitrary<GuestPvclock> pvclock = Arbitraries.oneOf(Arbitraries.just(new GuestPvclock.NotEnabled()),
                Combinators.combine(pv, Arbitraries.of(GuestPvclock.Source.class)).as(GuestPvclock.Captured::new));
        return Combinators.combine(Arbitraries.integers().between(0, VcpuClockState.MAX_ID_EXCLUSIVE - 1),
                Arbitraries.longs(), Arbitraries.longs(), Arbitraries.longs().between(1, VcpuClockState.MAX_TSC_KHZ),
                scaling, pvclock, Arbitraries.of(true, false))
                .as((id, off, tsc, khz, sc, guestPv, read) -> new VcpuClockState(id, off, tsc, khz, sc, guestPv,
                        read ? kernelReading(sc) : new ScaleReading.NotRead()));
    }

    /** What KVM_VCPU_TSC_SCALE reads for a vCPU at {@code sc}: 1.0 (VMX bits) for none. */
    private static ScaleReading kernelReading(TscRate sc) {
        return switch (sc) {
            case TscRate.Unscaled n -> new ScaleReading.FromKernel(new TscScale(1L << 48, 48));
            case TscRate.Scaled h -> h.ratio() == h.scaling().defaultRatio() ? new ScaleReading.NotRead()
                    : new ScaleReading.FromKernel(new TscScale(h.ratio(), h.scaling().fracBits()));
        };
    }

    /** The vCPUs as a file before 1.2 holds them: without the kernel's scale reading. */
    private static List<VcpuClockState> withoutKernelScale(List<VcpuClockState> vcpus) {
        return vcpus.stream().map(v -> new VcpuClockState(v.id(), v.tscOffset(), v.guestTsc(), v.tscKhz(), v.scaling(),
                v.pvclock())).toList();
    }

    @Property(tries = 1000)
    void everyFieldRoundTripsExactly(@ForAll("states") ClockState s) {
        byte[] bytes = StateFormat.encode(s);
        ClockState back = StateFormat.decode(bytes);
        assertEquals(s, back);
        assertArrayEquals(bytes, StateFormat.encode(back));
        assertArrayEquals(bytes, Layout.of(s).file(), "the documented layout");
    }

    @Property(tries = 300)
    void writingForAnOlderMinorKeepsEverythingItCanHold(@ForAll("states") ClockState s) {
        FormatVersion v10 = new FormatVersion(1, 0);
        ClockState back = StateFormat.decode(StateFormat.encode(s, v10));
        assertEquals(new ClockState(v10, s.capture(), s.host(), Optional.empty(), s.clock(), withoutKernelScale(s.vcpus())), back);
        assertArrayEquals(Layout.of(s).file(1, 0), StateFormat.encode(s, v10));
        FormatVersion v11 = new FormatVersion(1, 1);
        ClockState back11 = StateFormat.decode(StateFormat.encode(s, v11));
        assertEquals(new ClockState(v11, s.capture(), s.host(), s.capabilities(), s.clock(), withoutKernelScale(s.vcpus())), back11);
        assertArrayEquals(Layout.of(s).file(1, 1), StateFormat.encode(s, v11));
    }

    @Property(tries = 300)
    void aNewerMinorsAppendedFieldsAreSkipped(@ForAll("states") ClockState s,
                                              @ForAll @IntRange(min = 3, max = 0xFFFF) int minor,
                                              @ForAll @Size(max = 16) byte[] recordTail,
                                              @ForAll @Size(max = 64) byte[] payloadTail) {
        Layout l = Layout.of(s);
        l.recordTail = recordTail;
        l.payloadTail = payloadTail;
        ClockState back = StateFormat.decode(l.file(1, minor));
        assertEquals(new FormatVersion(1, minor), back.format());
        assertEquals(new ClockState(back.format(), s.capture(), s.host(), s.capabilities(), s.clock(), s.vcpus()), back);
    }

    @Property(tries = 300)
    void anyBitFlipInThePayloadIsACrcMismatch(@ForAll("states") ClockState s, @ForAll int where) {
        byte[] f = StateFormat.encode(s);
        int bit = Math.floorMod(where, (f.length - StateFormat.HEADER_SIZE) * 8);
        f[StateFormat.HEADER_SIZE + bit / 8] ^= (byte) (1 << (bit % 8));
        StateFormatException e = assertThrows(StateFormatException.class, () -> StateFormat.decode(f));
        assertEquals(Reason.CRC_MISMATCH, e.reason());
    }

    @Property(tries = 300)
    void everyTruncationIsNamed(@ForAll("states") ClockState s, @ForAll int where) {
        byte[] f = StateFormat.encode(s);
        int len = Math.floorMod(where, f.length);
        StateFormatException e = assertThrows(StateFormatException.class,
                () -> StateFormat.decode(Arrays.copyOf(f, len)));
        Reason expected = len == 0 ? Reason.EMPTY
                : len < StateFormat.HEADER_SIZE ? Reason.TRUNCATED_HEADER : Reason.TRUNCATED_PAYLOAD;
        assertEquals(expected, e.reason(), e.getMessage());
    }

    /** Any payload with a valid frame is either a state or a StateFormatException: never another exception. */
    @Property(tries = 3000)
    void arbitraryPayloadsFailOnlyWithAReason(@ForAll @Size(max = 400) byte[] payload,
                                              @ForAll @IntRange(min = 0, max = 3) int minor) {
        byte[] f = StateFormat.frame(new FormatVersion(1, minor), payload);
        try {
            ClockState s = StateFormat.decode(f);
            assertEquals(minor, s.format().minor());
        } catch (StateFormatException e) {
            assertTrue(e.reason() != null && !e.getMessage().isBlank());
        }
    }

    /** A sample state corrupted at one random byte, with the CRC fixed up: the decoder must still only say why. */
    @Property(tries = 3000)
    void corruptedFieldsFailOnlyWithAReason(@ForAll int where, @ForAll byte value) {
        byte[] payload = Layout.sample().payload(FormatVersion.CURRENT.minor());
        payload[Math.floorMod(where, payload.length)] = value;
        try {
            StateFormat.decode(StateFormat.frame(FormatVersion.CURRENT, payload));
        } catch (StateFormatException e) {
            assertTrue(e.reason() != null && !e.getMessage().isBlank());
        }
    }

    @Example
    void extremesRoundTrip() {
        long top = 0x8000_0000_0000_0000L;
        PvclockTimeInfo pv = new PvclockTimeInfo(0xFFFF_FFFEL, 0, -1L, top, 0xFFFF_FFFFL, -32, 0xFF, 0);
        List<VcpuClockState> vcpus = List.of(
                new VcpuClockState(0, -1L, top, VcpuClockState.MAX_TSC_KHZ, new TscRate.Scaled(TscScaling.VMX, -2L),
                        new GuestPvclock.Captured(pv, GuestPvclock.Source.KVM_GET_CLOCK_GUEST)),
                new VcpuClockState(VcpuClockState.MAX_ID_EXCLUSIVE - 1, top, -1L, 1,
                        new TscRate.Scaled(TscScaling.SVM, TscScaling.SVM.maxRatio() - 1),
                        new GuestPvclock.Captured(new PvclockTimeInfo(0, 0, 0, 0, 1, 32, 0, 0), GuestPvclock.Source.GUEST_MEMORY)),
                new VcpuClockState(7, 0, 0, AMD_KHZ, TscRate.UNSCALED, new GuestPvclock.NotEnabled()),
                new VcpuClockState(8, 0, 0, 2_000_000, new TscRate.Scaled(TscScaling.VMX, -2L),
                        new GuestPvclock.NotEnabled(), new ScaleReading.FromKernel(new TscScale(-2L, 48))));
        ClockState s = ClockState.of(new Capture(CaptureKind.MIGRATION, new HostClocks(-1L, top, Long.MIN_VALUE)),
                new HostInfo("x".repeat(255), Integer.MAX_VALUE, VcpuClockState.MAX_TSC_KHZ, "", "\u00e9\uD83D\uDD70"),
                Optional.of(new ClockCapabilities(-1, true, true, true, true, true)),
                new ClockData(-1L, -1, top, -1L), vcpus);
        ClockState back = StateFormat.decode(StateFormat.encode(s));
        assertEquals(s, back);
        assertEquals(-1L, back.vcpus().getFirst().tscOffset());
        assertEquals("18446744073709551615", Long.toUnsignedString(back.clock().clock()));
        assertEquals(-32, ((GuestPvclock.Captured) back.vcpus().getFirst().pvclock()).pvclock().shift());
        assertEquals(0xFF, ((GuestPvclock.Captured) back.vcpus().getFirst().pvclock()).pvclock().flags());
        assertEquals(-1, back.clock().flags());
    }
}
