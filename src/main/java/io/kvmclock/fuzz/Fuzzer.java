package io.kvmclock.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.demo.LiveUpdate;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.CpuState;
import io.kvmclock.sim.Scenario;
import io.kvmclock.state.FormatVersion;
import io.kvmclock.state.SampleState;
import io.kvmclock.state.StateFormat;
import io.kvmclock.state.StateFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * Mutation fuzzing of the three inputs kvmclock reads from files: the clock-state decoder, the scenario JSON
 * and the live-update hand-over. Each input is a valid seed with a few random edits (bit flips, interesting
 * integers, inserted, deleted, duplicated or truncated bytes, and for text, tokens a parser trips on); a
 * state with an edited payload gets its CRC recomputed half the time so the field checks are reached.
 * Every input must end {@link Verdict.Accepted} or {@link Verdict.Rejected} with the decoder's own reason;
 * anything else (another exception, an error) is {@link Verdict.Other}: a bug (docs/faults.md).
 */
public final class Fuzzer {

    public enum Format { state, scenario, handover }

    public sealed interface Verdict {
        record Accepted() implements Verdict {}

        /** Refused the way the decoder refuses bad input; {@code reason} is its reason (or the message's shape). */
        record Rejected(String reason) implements Verdict {}

        /** Anything else: an exception or error the decoder should not throw. */
        record Other(String what) implements Verdict {}
    }

    /** One edit of a seed: what to do, where (taken modulo the length) and with which value. */
    public record Edit(int kind, int at, int value) {
        public static final int KINDS = 10;
    }

    private final Format format;
    private final List<List<byte[]>> seeds;

    public Fuzzer(Format format, List<byte[]> scenarioSeeds) {
        this.format = format;
        this.seeds = switch (format) {
            case state -> stateSeeds().stream().map(List::of).toList();
            case scenario -> (scenarioSeeds.isEmpty() ? List.of(BUILT_IN_SCENARIO.getBytes(StandardCharsets.UTF_8))
                    : scenarioSeeds).stream().map(List::of).toList();
            case handover -> List.of(handOverSeed());
        };
    }

    public int seedCount() {
        return seeds.size();
    }

    /** The result of a run: inputs, accepted, rejected by reason, others (with the first few examples). */
    public record Counts(Format format, long inputs, long accepted, TreeMap<String, Long> rejected, long other,
                         List<String> otherExamples) {
        public long rejectedTotal() {
            return rejected.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** Fuzzes {@code inputs} inputs from {@code seed}; {@code progress} gets the count done now and then. */
    public Counts run(long inputs, long seed, LongConsumer progress) {
        Random rnd = new Random(seed);
        long accepted = 0;
        long other = 0;
        TreeMap<String, Long> rejected = new TreeMap<>();
        List<String> examples = new ArrayList<>();
        long step = Math.max(1, inputs / 20);
        for (long i = 1; i <= inputs; i++) {
            int n = 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 12 : 3);
            List<Edit> edits = new ArrayList<>(n);
            for (int k = 0; k < n; k++) {
                // JSON: most edits structural, so that inputs get past the parser to the scenario's own checks
                int kind = format == Format.scenario && rnd.nextInt(4) != 0 ? 9 : rnd.nextInt(Edit.KINDS);
                edits.add(new Edit(kind, rnd.nextInt(Integer.MAX_VALUE), rnd.nextInt()));
            }
            List<byte[]> input = mutate(rnd.nextInt(seeds.size()), rnd.nextInt(3), edits, rnd.nextBoolean());
            switch (classify(input)) {
                case Verdict.Accepted a -> accepted++;
                case Verdict.Rejected r -> rejected.merge(r.reason(), 1L, Long::sum);
                case Verdict.Other o -> {
                    other++;
                    if (examples.size() < 5) {
                        examples.add(o.what());
                    }
                }
            }
            if (i % step == 0) {
                progress.accept(i);
            }
        }
        return new Counts(format, inputs, accepted, rejected, other, examples);
    }

    /**
     * Seed {@code seedIndex} (mod the seed count) with {@code edits} applied to its part {@code part} (mod its
     * parts: a hand-over has three files); {@code fixCrc} recomputes a state's CRC after the edits.
     */
    public List<byte[]> mutate(int seedIndex, int part, List<Edit> edits, boolean fixCrc) {
        List<byte[]> parts = new ArrayList<>(seeds.get(Math.floorMod(seedIndex, seeds.size())));
        int p = Math.floorMod(part, parts.size());
        byte[] b = parts.get(p);
        boolean text = format == Format.scenario || (format == Format.handover && p == 0);
        for (Edit e : edits) {
            b = apply(b, e, text);
        }
        boolean isState = format == Format.state || (format == Format.handover && p == 2);
        if (isState && fixCrc) {
            b = fixCrc(b);
        }
        parts.set(p, b);
        return parts;
    }

    /** What the decoder makes of {@code input}. */
    public Verdict classify(List<byte[]> input) {
        try {
            switch (format) {
                case state -> StateFormat.decode(input.getFirst());
                case scenario -> Scenario.parse(input.getFirst(), "fuzz");
                case handover -> LiveUpdate.decode(input.get(0), input.get(1), input.get(2));
            }
            return new Verdict.Accepted();
        } catch (StateFormatException e) {
            return new Verdict.Rejected(e.reason().name());
        } catch (Scenario.ScenarioException e) {
            return new Verdict.Rejected(shape(e.getMessage()));
        } catch (LiveUpdate.HandOverException e) {
            return new Verdict.Rejected(e.reason().name());
        } catch (IOException | RuntimeException | StackOverflowError | OutOfMemoryError e) {
            return new Verdict.Other(e.getClass().getName() + ": " + e.getMessage());
        }
    }

    /** A scenario error's message with its values masked, so rejections group by what was wrong, not by value. */
    static String shape(String message) {
        String m = message.startsWith("fuzz: ") ? message.substring(6) : message;
        m = m.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"…\"").replaceAll("'[^']*'", "'…'")
                .replaceAll("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?", "N").replaceAll("got .*", "got …")
                .replaceAll("line N: .*", "line N: …");
        return m.length() > 90 ? m.substring(0, 90) + "…" : m;
    }

    private static final int[] INTERESTING = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, Integer.MAX_VALUE,
            Integer.MIN_VALUE, 4096, 4095, 255, 256};
    private static final String[] TOKENS = {"-1", "0", "1e309", "99999999999999999999", "1.5", "\"\"", "null", "true",
            "[", "]", "{", "}", ",", ":", "\"", "\\u0000", "\\", "\n", "=", "-0", "0x10", "NaN", "\"1ms\"", "\"40h\"",
            "9223372036854775807", "18446744073709551615", "\u0663", "\uff11", "\u00e9", "\ud800"};

    private static byte[] apply(byte[] b, Edit e, boolean text) {
        int len = b.length;
        int at = len == 0 ? 0 : Math.floorMod(e.at(), len);
        int v = e.value();
        return switch (e.kind()) {
            case 0 -> { // flip one bit
                if (len == 0) {
                    yield b;
                }
                byte[] c = b.clone();
                c[at] ^= (byte) (1 << (v & 7));
                yield c;
            }
            case 1 -> { // one byte to an interesting value
                if (len == 0) {
                    yield b;
                }
                byte[] c = b.clone();
                c[at] = (byte) INTERESTING[Math.floorMod(v, INTERESTING.length)];
                yield c;
            }
            case 2 -> { // 4 bytes (little-endian) to an interesting int
                if (len < 4) {
                    yield b;
                }
                byte[] c = b.clone();
                int pos = Math.min(at, len - 4);
                ByteBuffer.wrap(c, pos, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(INTERESTING[Math.floorMod(v, INTERESTING.length)]);
                yield c;
            }
            case 3 -> { // delete a range
                int n = Math.min(len - at, 1 + Math.floorMod(v, 16));
                byte[] c = new byte[len - n];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(b, at + n, c, at, len - at - n);
                yield c;
            }
            case 4 -> { // insert random bytes
                int n = 1 + Math.floorMod(v, 8);
                byte[] ins = new byte[n];
                new Random(v).nextBytes(ins);
                yield insert(b, at, ins);
            }
            case 5 -> { // duplicate a chunk
                int n = Math.min(len - at, 1 + Math.floorMod(v, 64));
                byte[] chunk = new byte[n];
                System.arraycopy(b, at, chunk, 0, n);
                yield insert(b, at, chunk);
            }
            case 6 -> { // truncate
                byte[] c = new byte[at];
                System.arraycopy(b, 0, c, 0, at);
                yield c;
            }
            case 9 -> text ? jsonEdit(b, at, v) : apply(b, new Edit(1, e.at(), v), false);
            case 7 -> text ? insert(b, at, TOKENS[Math.floorMod(v, TOKENS.length)].getBytes(StandardCharsets.UTF_8))
                    : apply(b, new Edit(0, e.at(), v), false);
            default -> text ? replaceNumber(b, at, TOKENS[Math.floorMod(v, TOKENS.length)]) : apply(b, new Edit(2, e.at(), v), false);
        };
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNode[] VALUES = values();

    private static JsonNode[] values() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        List<JsonNode> v = new ArrayList<>(List.of(f.numberNode(-1), f.numberNode(0), f.numberNode(1), f.numberNode(4096),
                f.numberNode(Long.MAX_VALUE), f.numberNode(Long.MIN_VALUE), f.numberNode(new java.math.BigDecimal("1e309")),
                f.numberNode(1.5), f.numberNode(new java.math.BigInteger("18446744073709551616")), f.booleanNode(true),
                f.nullNode(), f.objectNode(), f.arrayNode(), f.textNode(""), f.textNode("x")));
        for (String t : new String[] {"1ms", "40h", "-5s", "106751d", "0s", "1.5s", "2596138", "kvm-intel", "clock-guest",
                "ideal", "this-machine", "kexec", "migrate", "hotplug", "tsc-offset-write", "set-clock", "vmx", "svm"}) {
            v.add(f.textNode(t));
        }
        return v.toArray(JsonNode[]::new);
    }

    /** Parses the JSON and replaces (or removes) one value in it, so the field checks behind the syntax are reached. */
    private static byte[] jsonEdit(byte[] b, int at, int v) {
        JsonNode root;
        try {
            root = JSON.readTree(b);
        } catch (IOException e) {
            return b;
        }
        List<JsonNode[]> slots = new ArrayList<>(); // {parent, key-or-index holder}
        collect(root, slots);
        if (slots.isEmpty()) {
            return b;
        }
        JsonNode[] slot = slots.get(Math.floorMod(at, slots.size()));
        JsonNode value = VALUES[Math.floorMod(v, VALUES.length)];
        boolean remove = Math.floorMod(v >>> 8, 8) == 0;
        if (slot[0] instanceof ObjectNode o) {
            String key = slot[1].asText();
            if (remove) {
                o.remove(key);
            } else {
                o.set(key, value);
            }
        } else if (slot[0] instanceof ArrayNode a) {
            int i = slot[1].asInt();
            if (remove) {
                a.remove(i);
            } else if (Math.floorMod(v >>> 11, 4) == 0) {
                a.insert(i, a.get(i).deepCopy());
            } else {
                a.set(i, value);
            }
        }
        return root.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void collect(JsonNode n, List<JsonNode[]> slots) {
        if (n instanceof ObjectNode o) {
            for (var it = o.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                slots.add(new JsonNode[] {o, JsonNodeFactory.instance.textNode(k)});
                collect(o.get(k), slots);
            }
        } else if (n instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                slots.add(new JsonNode[] {a, JsonNodeFactory.instance.numberNode(i)});
                collect(a.get(i), slots);
            }
        }
    }

    private static byte[] insert(byte[] b, int at, byte[] ins) {
        byte[] c = new byte[b.length + ins.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(ins, 0, c, at, ins.length);
        System.arraycopy(b, at, c, at + ins.length, b.length - at);
        return c;
    }

    /** Replaces the run of digits at or after {@code at} with {@code token}. */
    private static byte[] replaceNumber(byte[] b, int at, String token) {
        int s = at;
        while (s < b.length && (b[s] < '0' || b[s] > '9')) {
            s++;
        }
        if (s == b.length) {
            return b;
        }
        int e = s;
        while (e < b.length && b[e] >= '0' && b[e] <= '9') {
            e++;
        }
        byte[] t = token.getBytes(StandardCharsets.UTF_8);
        byte[] c = new byte[b.length - (e - s) + t.length];
        System.arraycopy(b, 0, c, 0, s);
        System.arraycopy(t, 0, c, s, t.length);
        System.arraycopy(b, e, c, s + t.length, b.length - e);
        return c;
    }

    /** Rewrites the header's payload length and CRC32C for what follows it (so the field checks are reached). */
    static byte[] fixCrc(byte[] b) {
        if (b.length < StateFormat.HEADER_SIZE) {
            return b;
        }
        byte[] c = b.clone();
        CRC32C crc = new CRC32C();
        crc.update(c, StateFormat.HEADER_SIZE, c.length - StateFormat.HEADER_SIZE);
        ByteBuffer h = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(12, c.length - StateFormat.HEADER_SIZE).putInt(16, (int) crc.getValue());
        return c;
    }

    private static List<byte[]> stateSeeds() {
        List<byte[]> out = new ArrayList<>();
        for (int vcpus : new int[] {1, 2, 4}) {
            out.add(StateFormat.encode(SampleState.create(vcpus, 2_596_138, 2_596_138)));
            out.add(StateFormat.encode(SampleState.create(vcpus, 2_100_000, 2_995_200), new FormatVersion(1, 0)));
        }
        return out;
    }

    private static List<byte[]> handOverSeed() {
        String props = "#kvmclock live-update hand-over\nmemoryFile=/dev/shm/" + LiveUpdate.PREFIX + "1.mem\n"
                + "memoryBytes=2097152\nlastKvmclockNs=123456789012\n";
        // struct kvm_regs is 144 bytes and struct kvm_sregs 312 on x86-64: the sizes a real snapshot carries
        byte[] regs = new byte[144];
        byte[] sregs = new byte[312];
        new Random(1).nextBytes(regs);
        new Random(2).nextBytes(sregs);
        ClockGuest.Snapshot snap = new ClockGuest.Snapshot(new CpuState(regs, sregs), 0x8001, 123_456_789, new byte[0]);
        return List.of(props.getBytes(StandardCharsets.UTF_8), snap.toBytes(),
                StateFormat.encode(SampleState.create(1, 2_596_138, 2_596_138)));
    }

    /** Used when no scenario files are given: every field of the format once. */
    static final String BUILT_IN_SCENARIO = """
            {
              "name": "fuzz-seed",
              "description": "a kexec, a migration and a drift",
              "seed": 7,
              "duration": "2h",
              "sampleEvery": "30s",
              "host": { "preset": "kvm-intel", "clockGuest": true, "tscScaling": "vmx" },
              "guest": { "vcpus": 2, "tscKhz": 2596138 },
              "events": [
                { "at": "30m", "action": "kexec", "downtime": "2s", "restore": "clock-guest" },
                { "at": "60m", "action": "kexec", "downtime": "2s", "tscKhz": 2100003, "restore": "set-clock" }
              ]
            }
            """;
}
