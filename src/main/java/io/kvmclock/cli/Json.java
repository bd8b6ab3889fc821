package io.kvmclock.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.time.U128;

/** JSON output: insertion-ordered objects, pretty printed; u64 values printed unsigned. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {}

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static ObjectNode putUnsigned(ObjectNode node, String key, long u64) {
        node.put(key, U128.toBig(u64));
        return node;
    }

    /** The six fields of a pvclock_vcpu_time_info, as every command prints them (u64s unsigned). */
    static ObjectNode putPvclock(ObjectNode node, io.kvmclock.time.PvclockTimeInfo p) {
        node.put("version", p.version());
        putUnsigned(node, "tscTimestamp", p.tscTimestamp());
        putUnsigned(node, "systemTime", p.systemTime());
        node.put("mul", p.mul());
        node.put("shift", p.shift());
        node.put("flags", p.flags());
        return node;
    }

    /** One line, for a protocol read line by line (live-update's two processes). */
    static String line(ObjectNode node) {
        try {
            return LINE.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final ObjectMapper LINE = new ObjectMapper();

    static String write(ObjectNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
