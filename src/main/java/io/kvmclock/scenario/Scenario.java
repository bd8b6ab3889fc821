package io.kvmclock.scenario;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvmclock.restore.DocumentedMethod;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreMethods;
import io.kvmclock.sim.Distribution;
import io.kvmclock.sim.Latency;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.time.TscScaling;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A simulation scenario, read from JSON. The format (every field optional unless marked):
 * <pre>
 * {
 *   "name": "kexec-live-update",             label for reports
 *   "description": "...",
 *   "seed": 1,                               all random latencies derive from it
 *   "duration": "2h",                        REQUIRED: how long the run lasts on the true time line
 *   "sampleEvery": "60s",                    how often the guest reads kvmclock (default duration/500)
 *   "host": HOST,                            the starting host (default: pvm-intel-2026-11)
 *   "guest": { "vcpus": 1, "tscKhz": 2100000 },   vCPUs at start; guest TSC kHz (default host's)
 *   "events": [ EVENT, ... ]
 * }
 * HOST = { "preset": "pvm-intel-2026-11" | "kvm-intel" | "kvm-amd" | "clock-guest" | "v6" | "ideal",
 *          "name", "tscKhz", "tscHz" (true frequency; default tscKhz*1000), "tscAtStart",
 *          "tscScaling": "none" | "vmx" | "svm", "clockGuest": bool, "vmTscControl": bool, "tscWritesIgnored": bool,
 *          "hotplugForcesMasterclockUpdate": bool, "kvmclockPeriodicSync": bool,
 *          "masterclockSyncPeriod": DURATION, "realtimeErrorNs": n (this host's wall-clock error),
 *          "latency": { "ioctl": DIST, "setClockGap": DIST, "vcpuEntry": DIST } }
 * DIST = { "fixed": ns } | { "mean": ns, "spread": ns } | { "samples": [ns, ...] }
 * EVENT = { "at": DURATION, "every": DURATION (repeat until the end), "action": ACTION, ... }
 *   "hotplug"                      KVM_CREATE_VCPU of the next id, then it runs
 *   "tsc-offset-write" vcpu, delta KVM_SET_DEVICE_ATTR(TSC offset) += delta cycles
 *   "tsc-msr-write" vcpu, delta    KVM_SET_MSRS(IA32_TSC) = current + delta
 *   "kvmclock-ctrl"                KVM_KVMCLOCK_CTRL on every vCPU
 *   "realtime-step" ns             CLOCK_REALTIME jumps (NTP step)
 *   "realtime-slew" ppb, duration  CLOCK_REALTIME slews
 *   "kexec" downtime, tscKhz (the new kernel's calibration; absent = keeps the old), restore
 *   "migrate" downtime, host (HOST of the destination), restore
 *   restore = the name of any restore method (io.kvmclock.restore.RestoreMethods: "clock-guest", the default,
 *             "precise", "documented", "qemu", ...), run with ClockCapture on the source and the method on the
 *             destination exactly as the demo runs it; a method that fails there (unsupported, refused, short of
 *             its bound) falls back to "documented" and the event says why.
 *             Two older names stay readable: "set-clock-realtime" is "documented" (KVM_SET_CLOCK with REALTIME,
 *             the TSC moved by the documented algorithm), "set-clock" is "qemu" (flags 0: time freezes)
 * DURATION = seconds as a number, or a string with unit: "500ns" "20us" "100ms" "20s" "5m" "2h" "3d"
 * </pre>
 */
public record Scenario(String name, String description, long seed, long durationNs, long sampleEveryNs,
                       HostSpec host, int vcpus, Optional<Long> guestTscKhz, List<Event> events) {

    public record HostSpec(SimHostConfig config, long realtimeErrorNs) {}

    public sealed interface Action {
        record Hotplug() implements Action {}
        record TscOffsetWrite(int vcpu, long delta) implements Action {}
        record TscMsrWrite(int vcpu, long delta) implements Action {}
        record KvmclockCtrl() implements Action {}
        record RealtimeStep(long ns) implements Action {}
        record RealtimeSlew(long ppb, long durationNs) implements Action {}
        record Kexec(long downtimeNs, Optional<Long> tscKhz, Restore restore) implements Action {}
        record Migrate(long downtimeNs, HostSpec host, Restore restore) implements Action {}
    }

    /** A restore as the file names it ({@code label}) and the restore method that runs ({@code method}). */
    public record Restore(String label, String method) {
        /** The method a failed restore falls back to: the KVM documentation's, which every method builds on. */
        public static final RestoreMethod FALLBACK = new DocumentedMethod();

        /** The names of the first scenario files, for the methods they described. */
        static final Map<String, String> OLDER_NAMES = Map.of("set-clock-realtime", "documented", "set-clock", "qemu");

        static final Restore DEFAULT = new Restore("clock-guest", "clock-guest");
    }

    public record Event(long atNs, long everyNs, Action action) {}

    /** A scenario file that cannot be used; the message is one line naming the problem. */
    public static final class ScenarioException extends IllegalArgumentException {
        private final Optional<String> source;

        public ScenarioException(String message) {
            super(message);
            this.source = Optional.empty();
        }

        /** A problem with the file as a whole, found where its name is known: the message is "SOURCE: problem". */
        ScenarioException(String source, String problem) {
            super(source + ": " + problem);
            this.source = Optional.of(source);
        }

        /** The file (or other source) the message already names; empty when the message names none. */
        public Optional<String> source() {
            return source;
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** A scenario is a few KiB; past this a file is refused before it is parsed. */
    public static final int MAX_FILE_BYTES = 1 << 20;

    public static Scenario parse(InputStream in, String source) throws IOException {
        byte[] bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        if (bytes.length > MAX_FILE_BYTES) {
            throw new ScenarioException(source, "more than " + MAX_FILE_BYTES + " bytes, larger than any scenario");
        }
        return parse(bytes, source);
    }

    /** Parses a scenario from its bytes; every bad input is a {@link ScenarioException} in one line. */
    public static Scenario parse(byte[] bytes, String source) throws IOException {
        String text;
        try {
            // UTF-8 only (RFC 8259): left to guess, the parser takes some damaged files for UTF-32 and fails outside its own errors
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ScenarioException(source, "not UTF-8 text (a scenario is JSON in UTF-8)");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            String m = e.getOriginalMessage() == null ? "syntax error" : e.getOriginalMessage().lines().findFirst().orElse("syntax error");
            // A limit (nesting depth, string length) is reported without a location.
            String at = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new ScenarioException(source, "not valid JSON" + at + ": " + m);
        }
        if (root == null || !root.isObject()) {
            throw new ScenarioException(source, "a scenario is a JSON object");
        }
        return fromJson(root);
    }

    static Scenario fromJson(JsonNode root) {
        known(root, "scenario", Set.of("name", "description", "seed", "duration", "sampleEvery", "host", "guest", "events"));
        String name = text(root, "name", "scenario");
        String description = text(root, "description", "");
        long seed = root.has("seed") ? integer(root.get("seed"), "seed") : 0;
        if (!root.has("duration")) {
            throw new ScenarioException("scenario: \"duration\" is required (e.g. \"duration\": \"2h\")");
        }
        long duration = duration(root.get("duration"), "duration");
        if (duration <= 0) {
            throw new ScenarioException("duration must be positive");
        }
        long sample = root.has("sampleEvery") ? duration(root.get("sampleEvery"), "sampleEvery") : Math.max(1, duration / 500);
        if (sample <= 0) {
            throw new ScenarioException("sampleEvery must be positive");
        }
        if (duration / sample > 2_000_000) {
            throw new ScenarioException("sampleEvery " + sample + " ns gives over 2 million samples; sample less often");
        }
        HostSpec host = host(root.get("host"), "host");
        int vcpus = 1;
        Optional<Long> guestKhz = Optional.empty();
        if (root.has("guest")) {
            JsonNode g = root.get("guest");
            known(g, "guest", Set.of("vcpus", "tscKhz"));
            if (g.has("vcpus")) {
                vcpus = (int) range(integer(g.get("vcpus"), "guest.vcpus"), 1, 1024, "guest.vcpus");
            }
            if (g.has("tscKhz")) {
                guestKhz = Optional.of(range(integer(g.get("tscKhz"), "guest.tscKhz"), 1, 0xFFFF_FFFFL, "guest.tscKhz"));
            }
        }
        List<Event> events = new ArrayList<>();
        if (root.has("events")) {
            JsonNode evs = root.get("events");
            if (!evs.isArray()) {
                throw new ScenarioException("events must be an array");
            }
            for (int i = 0; i < evs.size(); i++) {
                events.add(event(evs.get(i), "events[" + i + "]", duration));
            }
        }
        return new Scenario(name, description, seed, duration, sample, host, vcpus, guestKhz, List.copyOf(events));
    }

    private static Event event(JsonNode e, String where, long duration) {
        if (!e.isObject()) {
            throw new ScenarioException(where + " must be an object");
        }
        if (!e.has("at") || !e.has("action")) {
            throw new ScenarioException(where + " needs \"at\" and \"action\"");
        }
        long at = duration(e.get("at"), where + ".at");
        if (at < 0 || at > duration) {
            throw new ScenarioException(where + ".at is outside the run (0.." + duration + " ns)");
        }
        long every = e.has("every") ? duration(e.get("every"), where + ".every") : 0;
        if (e.has("every") && every <= 0) {
            throw new ScenarioException(where + ".every must be positive");
        }
        String action = e.get("action").asText();
        Set<String> common = Set.of("at", "every", "action");
        Action a = switch (action) {
            case "hotplug" -> {
                known(e, where, common);
                yield new Action.Hotplug();
            }
            case "tsc-offset-write", "tsc-msr-write" -> {
                known(e, where, union(common, "vcpu", "delta"));
                int vcpu = e.has("vcpu") ? (int) range(integer(e.get("vcpu"), where + ".vcpu"), 0, 4095, where + ".vcpu") : 0;
                long delta = e.has("delta") ? integer(e.get("delta"), where + ".delta") : 0;
                yield action.equals("tsc-offset-write") ? new Action.TscOffsetWrite(vcpu, delta) : new Action.TscMsrWrite(vcpu, delta);
            }
            case "kvmclock-ctrl" -> {
                known(e, where, common);
                yield new Action.KvmclockCtrl();
            }
            case "realtime-step" -> {
                known(e, where, union(common, "ns"));
                yield new Action.RealtimeStep(integer(required(e, "ns", where), where + ".ns"));
            }
            case "realtime-slew" -> {
                known(e, where, union(common, "ppb", "duration"));
                yield new Action.RealtimeSlew(range(integer(required(e, "ppb", where), where + ".ppb"), -500_000, 500_000, where + ".ppb"),
                        duration(required(e, "duration", where), where + ".duration"));
            }
            case "kexec" -> {
                known(e, where, union(common, "downtime", "tscKhz", "restore"));
                Optional<Long> khz = e.has("tscKhz")
                        ? Optional.of(range(integer(e.get("tscKhz"), where + ".tscKhz"), 1, 0xFFFF_FFFFL, where + ".tscKhz"))
                        : Optional.empty();
                yield new Action.Kexec(downtime(e, where), khz, restore(e, where));
            }
            case "migrate" -> {
                known(e, where, union(common, "downtime", "host", "restore"));
                yield new Action.Migrate(downtime(e, where), host(required(e, "host", where), where + ".host"), restore(e, where));
            }
            default -> throw new ScenarioException(where + ".action \"" + action + "\" is unknown (use hotplug, tsc-offset-write, "
                    + "tsc-msr-write, kvmclock-ctrl, realtime-step, realtime-slew, kexec, migrate)");
        };
        if (every > 0 && (a instanceof Action.Kexec || a instanceof Action.Migrate)) {
            throw new ScenarioException(where + ": \"every\" is not supported for " + action);
        }
        return new Event(at, every, a);
    }

    private static long downtime(JsonNode e, String where) {
        long d = e.has("downtime") ? duration(e.get("downtime"), where + ".downtime") : 1_000_000_000L;
        if (d < 0) {
            throw new ScenarioException(where + ".downtime cannot be negative");
        }
        return d;
    }

    private static Restore restore(JsonNode e, String where) {
        if (!e.has("restore")) {
            return Restore.DEFAULT;
        }
        String r = e.get("restore").asText();
        String method = Restore.OLDER_NAMES.getOrDefault(r, r);
        if (!RestoreMethods.names().contains(method)) {
            throw new ScenarioException(where + ".restore \"" + r + "\" is unknown (use a restore method: "
                    + String.join(", ", RestoreMethods.names()) + "; or set-clock-realtime, set-clock)");
        }
        return new Restore(r, method);
    }

    static HostSpec host(JsonNode h, String where) {
        if (h == null) {
            return new HostSpec(SimHostConfig.pvmIntel202611(), 0);
        }
        if (!h.isObject()) {
            throw new ScenarioException(where + " must be an object");
        }
        known(h, where, Set.of("preset", "name", "tscKhz", "tscHz", "tscAtStart", "tscScaling", "clockGuest", "vmTscControl", "tscWritesIgnored",
                "hotplugForcesMasterclockUpdate", "kvmclockPeriodicSync", "masterclockSyncPeriod", "realtimeErrorNs", "latency"));
        String preset = text(h, "preset", "pvm-intel-2026-11");
        SimHostConfig c = switch (preset) {
            case "pvm-intel-2026-11" -> SimHostConfig.pvmIntel202611();
            case "kvm-amd" -> SimHostConfig.kvmAmd();
            case "kvm-intel" -> SimHostConfig.kvmIntel();
            case "clock-guest" -> SimHostConfig.clockGuestHost();
            case "v6" -> SimHostConfig.v6Host();
            case "ideal" -> SimHostConfig.ideal(2_100_000);
            default -> throw new ScenarioException(where + ".preset \"" + preset
                    + "\" is unknown (use pvm-intel-2026-11, kvm-intel, kvm-amd, clock-guest, v6 or ideal)");
        };
        try {
            if (h.has("name")) {
                c = c.withName(h.get("name").asText());
            }
            if (h.has("tscKhz") || h.has("tscHz")) {
                long khz = h.has("tscKhz") ? range(integer(h.get("tscKhz"), where + ".tscKhz"), 1, 0xFFFF_FFFFL, where + ".tscKhz") : c.tscKhz();
                long hz = h.has("tscHz") ? integer(h.get("tscHz"), where + ".tscHz") : khz * 1000;
                c = c.withTsc(khz, hz);
            }
            if (h.has("tscAtStart")) {
                c = c.withTscAtStart(integer(h.get("tscAtStart"), where + ".tscAtStart"));
            }
            if (h.has("tscScaling")) {
                String s = h.get("tscScaling").asText().toLowerCase(Locale.ROOT);
                c = c.withScaling(switch (s) {
                    case "none" -> Optional.empty();
                    case "vmx" -> Optional.of(TscScaling.VMX);
                    case "svm" -> Optional.of(TscScaling.SVM);
                    default -> throw new ScenarioException(where + ".tscScaling \"" + s + "\" is unknown (use none, vmx or svm)");
                });
            }
            if (h.has("clockGuest")) {
                c = c.withClockGuest(bool(h.get("clockGuest"), where + ".clockGuest"));
            }
            if (h.has("vmTscControl")) {
                boolean on = bool(h.get("vmTscControl"), where + ".vmTscControl");
                c = c.withVmTscControl(on);
            }
            if (h.has("tscWritesIgnored")) {
                c = c.withTscWritesIgnored(bool(h.get("tscWritesIgnored"), where + ".tscWritesIgnored"));
            }
            if (h.has("hotplugForcesMasterclockUpdate")) {
                c = c.withHotplugForcesMasterclockUpdate(bool(h.get("hotplugForcesMasterclockUpdate"), where + ".hotplugForcesMasterclockUpdate"));
            }
            if (h.has("kvmclockPeriodicSync")) {
                c = c.withKvmclockPeriodicSync(bool(h.get("kvmclockPeriodicSync"), where + ".kvmclockPeriodicSync"));
            }
            if (h.has("masterclockSyncPeriod")) {
                long ns = duration(h.get("masterclockSyncPeriod"), where + ".masterclockSyncPeriod");
                if (ns < 0 || ns % 1_000_000_000L != 0) {
                    throw new ScenarioException(where + ".masterclockSyncPeriod is a whole number of seconds (a module parameter)");
                }
                c = c.withMasterclockSyncPeriodS(ns / 1_000_000_000L);
            }
            if (h.has("latency")) {
                c = c.withLatency(latency(h.get("latency"), where + ".latency", c.latency()));
            }
        } catch (IllegalArgumentException e) {
            if (e instanceof ScenarioException) {
                throw e;
            }
            throw new ScenarioException(where + ": " + e.getMessage());
        }
        long err = h.has("realtimeErrorNs") ? integer(h.get("realtimeErrorNs"), where + ".realtimeErrorNs") : 0;
        return new HostSpec(c, err);
    }

    private static Latency latency(JsonNode l, String where, Latency base) {
        known(l, where, Set.of("ioctl", "setClockGap", "vcpuEntry"));
        return new Latency(
                l.has("ioctl") ? dist(l.get("ioctl"), where + ".ioctl") : base.ioctl(),
                l.has("setClockGap") ? dist(l.get("setClockGap"), where + ".setClockGap") : base.setClockGap(),
                l.has("vcpuEntry") ? dist(l.get("vcpuEntry"), where + ".vcpuEntry") : base.vcpuEntry());
    }

    private static Distribution dist(JsonNode d, String where) {
        if (d.has("fixed")) {
            known(d, where, Set.of("fixed"));
            return new Distribution.Fixed(integer(d.get("fixed"), where + ".fixed"));
        }
        if (d.has("samples")) {
            known(d, where, Set.of("samples"));
            JsonNode arr = d.get("samples");
            if (!arr.isArray() || arr.isEmpty()) {
                throw new ScenarioException(where + ".samples must be a non-empty array of ns");
            }
            long[] v = new long[arr.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = integer(arr.get(i), where + ".samples[" + i + "]");
            }
            return Distribution.fit(v);
        }
        if (d.has("mean")) {
            known(d, where, Set.of("mean", "spread"));
            return new Distribution.Uniform(integer(d.get("mean"), where + ".mean"),
                    d.has("spread") ? integer(d.get("spread"), where + ".spread") : 0);
        }
        throw new ScenarioException(where + " needs {\"fixed\": ns}, {\"mean\": ns, \"spread\": ns} or {\"samples\": [...]}");
    }

    // ---- helpers ----

    private static Set<String> union(Set<String> a, String... more) {
        Set<String> s = new HashSet<>(a);
        s.addAll(List.of(more));
        return s;
    }

    private static JsonNode required(JsonNode n, String field, String where) {
        if (!n.has(field)) {
            throw new ScenarioException(where + " needs \"" + field + "\"");
        }
        return n.get(field);
    }

    private static void known(JsonNode n, String where, Set<String> fields) {
        if (!n.isObject()) {
            throw new ScenarioException(where + " must be an object");
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!fields.contains(f)) {
                throw new ScenarioException("unknown field \"" + f + "\" in " + where + " (known: "
                        + String.join(", ", new TreeSet<>(fields)) + ")");
            }
        }
    }

    private static String text(JsonNode n, String field, String dflt) {
        if (!n.has(field)) {
            return dflt;
        }
        if (!n.get(field).isTextual()) {
            throw new ScenarioException(field + " must be a string");
        }
        return n.get(field).asText();
    }

    private static boolean bool(JsonNode n, String where) {
        if (!n.isBoolean()) {
            throw new ScenarioException(where + " must be true or false");
        }
        return n.asBoolean();
    }

    private static long integer(JsonNode n, String where) {
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new ScenarioException(where + " must be an integer, got " + n);
        }
        return n.asLong();
    }

    private static long range(long v, long lo, long hi, String where) {
        if (v < lo || v > hi) {
            throw new ScenarioException(where + " " + v + " is outside " + lo + ".." + hi);
        }
        return v;
    }

    /** A DURATION in ns, exact (decimal seconds are parsed as decimals, not doubles). */
    static long duration(JsonNode n, String where) {
        try {
            if (n.isNumber()) {
                return new BigDecimal(n.asText()).multiply(BigDecimal.valueOf(1_000_000_000L)).longValueExact();
            }
            if (n.isTextual()) {
                String s = n.asText().trim();
                String[][] units = {{"ns", "1"}, {"us", "1000"}, {"ms", "1000000"}, {"s", "1000000000"},
                        {"m", "60000000000"}, {"h", "3600000000000"}, {"d", "86400000000000"}};
                for (String[] u : units) {
                    if (s.endsWith(u[0]) && !(u[0].equals("s") && (s.endsWith("ns") || s.endsWith("us") || s.endsWith("ms")))) {
                        String num = s.substring(0, s.length() - u[0].length()).trim();
                        return new BigDecimal(num).multiply(new BigDecimal(u[1])).longValueExact();
                    }
                }
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // fall through to the one-line error
        }
        throw new ScenarioException(where + " must be a duration such as 20, \"1250s\", \"100ms\", \"2h\" or \"3d\" (whole ns), got " + n);
    }
}
