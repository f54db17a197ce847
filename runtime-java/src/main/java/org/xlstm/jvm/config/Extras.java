package org.xlstm.jvm.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Canonical, immutable copies of the {@code extras} maps that carry official fields we do not interpret.
 *
 * <p>Why canonical: a config must survive read → write → read as an equal record, and JSON readers hand back
 * integers as {@link Integer} when they fit. So numbers are normalised the way a JSON reader would produce them
 * (whole numbers to Integer/Long, fractions to Double), maps keep their insertion order (files are written back
 * in the order they were read), and JSON {@code null} values are kept (official configs use them, e.g.
 * {@code gradient_recurrent_clipval: null}).
 */
public final class Extras {
    private Extras() {}

    /** An immutable, order-preserving, normalised deep copy; null gives an empty map. */
    public static Map<String, Object> copyOf(Map<String, ?> extras) {
        if (extras == null || extras.isEmpty()) return Map.of();
        LinkedHashMap<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : extras.entrySet()) {
            if (e.getKey() == null) throw new IllegalArgumentException("extras keys must not be null");
            out.put(e.getKey(), normalize(e.getValue(), e.getKey()));
        }
        return Collections.unmodifiableMap(out);
    }

    /** Normalises one JSON-like value (null, String, Boolean, Number, Map, List or array). */
    public static Object normalize(Object v, String where) {
        if (v == null || v instanceof String || v instanceof Boolean) return v;
        if (v instanceof Integer) return v;
        if (v instanceof Short || v instanceof Byte) return ((Number) v).intValue();
        if (v instanceof Long l) return l == l.intValue() ? (Object) l.intValue() : l;
        if (v instanceof BigInteger b) {
            if (b.bitLength() < 32) return b.intValue();
            if (b.bitLength() < 64) return b.longValue();
            return b;
        }
        if (v instanceof Float f) return Double.parseDouble(Float.toString(f));
        if (v instanceof Double) return v;
        if (v instanceof BigDecimal d) return d.doubleValue();
        if (v instanceof Character c) return String.valueOf(c);
        if (v instanceof Enum<?> en) return en.name().toLowerCase();
        if (v instanceof Map<?, ?> m) {
            LinkedHashMap<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String k = String.valueOf(e.getKey());
                out.put(k, normalize(e.getValue(), where + "." + k));
            }
            return Collections.unmodifiableMap(out);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (int i = 0; i < l.size(); i++) out.add(normalize(l.get(i), where + "[" + i + "]"));
            return Collections.unmodifiableList(out);
        }
        if (v instanceof Object[] a) return normalize(java.util.Arrays.asList(a), where);
        if (v instanceof int[] a) return normalize(java.util.Arrays.stream(a).boxed().toList(), where);
        if (v instanceof long[] a) return normalize(java.util.Arrays.stream(a).boxed().toList(), where);
        if (v instanceof double[] a) return normalize(java.util.Arrays.stream(a).boxed().toList(), where);
        throw new IllegalArgumentException("extra \"" + where + "\" has a value of type " + v.getClass().getName()
                + " that JSON cannot hold; use null, strings, booleans, numbers, lists or maps");
    }
}
