package io.kvmclock.state;

import static io.kvmclock.RecordedHosts.AMD_KHZ;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The payload written field by field from the table in StateFormat's Javadoc, independently of the encoder,
 * with every field open to tampering. Tests build bad files from it and check that the documented layout is
 * the encoder's.
 */
final class Layout {
    int captureKind;
    long captureTsc;
    long captureRaw;
    long captureRealtime;
    long hostKhz;
    long api;
    byte[] bootId;
    byte[] kernel;
    byte[] clocksource;
    int capsKnown;
    long adjust;
    int capBits;
    long clock;
    long clockFlags;
    long clockRealtime;
    long clockHostTsc;
    Long vcpuCount; // null: the real count
    final List<Vcpu> vcpus = new ArrayList<>();
    /** Bytes appended to each record body / to the payload, as a newer minor would. */
    byte[] recordTail = new byte[0];
    byte[] payloadTail = new byte[0];
    /** Added to the declared length of the vCPU records (negative: a record claims fewer bytes than it has). */
    int vcpuLengthDelta;

    static final class Vcpu {
        long id;
        long offset;
        long guestTsc;
        long khz;
        int scaling;
        long ratio;
        int source;
        byte[] pvclock;
        int scaleRead;
        long scaleRatio;
        long scaleFracBits;
    }

    /** The fields of a state, as the documentation says they are laid out. */
    static Layout of(ClockState s) {
        Layout l = new Layout();
        l.captureKind = s.capture().kind().code();
        l.captureTsc = s.capture().at().tsc();
        l.captureRaw = s.capture().at().monotonicRawNs();
        l.captureRealtime = s.capture().at().realtimeNs();
        l.hostKhz = s.host().tscKhz();
        l.api = s.host().kvmApiVersion();
        l.bootId = s.host().bootId().getBytes(StandardCharsets.UTF_8);
        l.kernel = s.host().kernel().getBytes(StandardCharsets.UTF_8);
        l.clocksource = s.host().clocksource().getBytes(StandardCharsets.UTF_8);
        if (s.capabilities().isPresent()) {
            ClockCapabilities c = s.capabilities().get();
            l.capsKnown = 1;
            l.adjust = Integer.toUnsignedLong(c.adjustClockFlags());
            l.capBits = (c.tscControl() ? 1 : 0) | (c.vmTscControl() ? 2 : 0) | (c.kvmclockCtrl() ? 4 : 0)
                    | (c.vcpuAttributes() ? 8 : 0) | (c.clockGuest() ? 16 : 0);
        }
        l.clock = s.clock().clock();
        l.clockFlags = Integer.toUnsignedLong(s.clock().flags());
        l.clockRealtime = s.clock().realtime();
        l.clockHostTsc = s.clock().hostTsc();
        for (VcpuClockState v : s.vcpus()) {
            Vcpu x = new Vcpu();
            x.id = v.id();
            x.offset = v.tscOffset();
            x.guestTsc = v.guestTsc();
            x.khz = v.tscKhz();
            x.scaling = switch (v.scaling()) {
                case TscRate.Unscaled n -> 0;
                case TscRate.Scaled h -> h.scaling() == TscScaling.VMX ? 1 : 2;
            };
            x.ratio = switch (v.scaling()) {
                case TscRate.Unscaled n -> 0;
                case TscRate.Scaled h -> h.ratio();
            };
            x.source = switch (v.pvclock()) {
                case GuestPvclock.NotEnabled n -> 0;
                case GuestPvclock.Captured c -> c.source() == GuestPvclock.Source.KVM_GET_CLOCK_GUEST ? 1 : 2;
            };
            x.pvclock = switch (v.pvclock()) {
                case GuestPvclock.NotEnabled n -> new byte[32];
                case GuestPvclock.Captured c -> c.pvclock().encode();
            };
            if (v.kernelScale() instanceof ScaleReading.FromKernel k) {
                x.scaleRead = 1;
                x.scaleRatio = k.scale().tscRatio();
                x.scaleFracBits = k.scale().tscFracBits();
            }
            l.vcpus.add(x);
        }
        return l;
    }

    static Layout sample() {
        return of(SampleState.create(2, AMD_KHZ, AMD_KHZ));
    }

    /** Sets a pvclock field of vCPU {@code i} at a byte offset within the 32-byte structure. */
    Layout pvclockByte(int i, int offset, int value) {
        vcpus.get(i).pvclock[offset] = (byte) value;
        return this;
    }

    byte[] payload(int minor) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        record(out, le(25).u8(captureKind).u64(captureTsc).u64(captureRaw).u64(captureRealtime), 0);
        Le host = le(12 + 3 + bootId.length + kernel.length + clocksource.length + 6)
                .u64(hostKhz).u32(api).str(bootId).str(kernel).str(clocksource);
        if (minor >= 1) {
            host.u8(capsKnown).u32(adjust).u8(capBits);
        }
        record(out, host, 0);
        record(out, le(28).u64(clock).u32(clockFlags).u64(clockRealtime).u64(clockHostTsc), 0);
        out.writeBytes(le(4).u32(vcpuCount == null ? vcpus.size() : vcpuCount).bytes());
        for (Vcpu v : vcpus) {
            Le body = le(87).u32(v.id).u64(v.offset).u64(v.guestTsc).u64(v.khz).u8(v.scaling).u64(v.ratio)
                    .u8(v.source).raw(v.pvclock);
            if (minor >= 2) {
                body.u8(v.scaleRead).u64(v.scaleRatio).u64(v.scaleFracBits);
            }
            record(out, body, vcpuLengthDelta);
        }
        out.writeBytes(payloadTail);
        return out.toByteArray();
    }

    byte[] file(int major, int minor) {
        return StateFormat.frame(new FormatVersion(major, minor), payload(minor));
    }

    byte[] file() {
        return file(FormatVersion.CURRENT.major(), FormatVersion.CURRENT.minor());
    }

    private void record(ByteArrayOutputStream out, Le body, int lengthDelta) {
        byte[] b = body.bytes();
        out.writeBytes(le(4).u32(b.length + recordTail.length + lengthDelta).bytes());
        out.writeBytes(b);
        out.writeBytes(recordTail);
    }

    private static Le le(int capacity) {
        return new Le(capacity);
    }

    /** A little-endian field writer. */
    static final class Le {
        private final ByteBuffer b;

        Le(int capacity) {
            b = ByteBuffer.allocate(capacity + 1024).order(ByteOrder.LITTLE_ENDIAN);
        }

        Le u8(long v) {
            b.put((byte) v);
            return this;
        }

        Le u32(long v) {
            b.putInt((int) v);
            return this;
        }

        Le u64(long v) {
            b.putLong(v);
            return this;
        }

        Le str(byte[] s) {
            b.put((byte) s.length).put(s);
            return this;
        }

        Le raw(byte[] s) {
            b.put(s);
            return this;
        }

        byte[] bytes() {
            byte[] out = new byte[b.position()];
            b.get(0, out);
            return out;
        }
    }

    static PvclockTimeInfo pvclockOf(byte[] raw) {
        return PvclockTimeInfo.decode(raw);
    }
}
