package org.xlstm.jvm.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JSON or YAML document as plain Java values (LinkedHashMap, ArrayList, String, Integer/Long, Double, Boolean,
 * null) together with the line and column of every key path, so that later type errors can point into the file.
 * Jackson's tree model drops locations, hence this small streaming builder.
 *
 * <p>Key paths are official-style: {@code a.b.c} for map keys and {@code a.b[2]} for list items.
 */
final class SourceTree {
    /** A 1-based position in the source text. */
    record Pos(int line, int column) {
        @Override
        public String toString() { return line + ":" + column; }
    }

    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // Python's json writes NaN / Infinity
            .build();
    private static final YAMLFactory YAML = new YAMLFactory();

    final String source;
    final Object root;
    private final Map<String, Pos> positions;
    /** Key paths whose value came from an interpolation, with the interpolation text (for messages). */
    private final Map<String, String> interpolatedFrom = new HashMap<>();

    private SourceTree(String source, Object root, Map<String, Pos> positions) {
        this.source = source;
        this.root = root;
        this.positions = positions;
    }

    // ------------------------------------------------------------------ parsing

    static SourceTree parse(String text, OfficialConfigs.Format format, String source) {
        Map<String, Pos> positions = new HashMap<>();
        List<ConfigError> errors = new ArrayList<>();
        JsonFactory factory = format == OfficialConfigs.Format.YAML ? YAML : JSON;
        Object root = null;
        Builder b = null;
        try (JsonParser p = factory.createParser(text)) {
            b = new Builder(p, positions, errors, source);
            if (p.nextToken() != null) {
                root = b.value("");
                if (format == OfficialConfigs.Format.JSON && p.nextToken() != null)
                    errors.add(new ConfigError("(file)", "unexpected content after the end of the JSON document ("
                            + source + ":" + pos(p.currentTokenLocation()) + ")"));
            }
        } catch (JsonProcessingException e) {
            String at = b == null ? "" : b.currentPath;
            JsonLocation loc = e.getLocation();
            String where = loc == null ? source : source + ":" + pos(loc);
            errors.add(new ConfigError("(syntax)", format.name() + " syntax error: "
                    + e.getOriginalMessage().lines().findFirst().orElse("") + " (" + where
                    + (at.isEmpty() ? "" : ", after key " + at) + ")"));
        } catch (IOException e) {
            errors.add(new ConfigError("(file)", "cannot read " + source + ": " + e.getMessage()));
        }
        if (!errors.isEmpty()) throw new ConfigFileException(source, errors);
        if (root == null)
            throw new ConfigFileException(source, List.of(new ConfigError("(file)", "the document is empty")));
        return new SourceTree(source, root, positions);
    }

    private static Pos pos(JsonLocation loc) { return new Pos(loc.getLineNr(), loc.getColumnNr()); }

    /** Recursive descent over the token stream, recording each key's position. */
    private static final class Builder {
        final JsonParser p;
        final Map<String, Pos> positions;
        final List<ConfigError> errors;
        final String source;
        String currentPath = "";

        Builder(JsonParser p, Map<String, Pos> positions, List<ConfigError> errors, String source) {
            this.p = p;
            this.positions = positions;
            this.errors = errors;
            this.source = source;
        }

        Object value(String path) throws IOException {
            currentPath = path;
            positions.putIfAbsent(path, pos(p.currentTokenLocation()));
            JsonToken t = p.currentToken();
            switch (t) {
                case START_OBJECT -> {
                    LinkedHashMap<String, Object> map = new LinkedHashMap<>();
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String key = p.currentName();
                        String child = join(path, key);
                        Pos keyPos = pos(p.currentTokenLocation());
                        if (map.containsKey(key))
                            errors.add(new ConfigError(child, "duplicate key \"" + key + "\" (" + source + ":" + keyPos
                                    + ", first at " + source + ":" + positions.get(child) + ")"));
                        else positions.put(child, keyPos);
                        p.nextToken();
                        map.put(key, value(child));
                    }
                    return map;
                }
                case START_ARRAY -> {
                    List<Object> list = new ArrayList<>();
                    while (p.nextToken() != JsonToken.END_ARRAY) list.add(value(path + "[" + list.size() + "]"));
                    return list;
                }
                case VALUE_STRING -> { return p.getText(); }
                case VALUE_NUMBER_INT -> { return Extras.normalize(p.getNumberValue(), path); }
                case VALUE_NUMBER_FLOAT -> { return floating(); }
                case VALUE_TRUE -> { return Boolean.TRUE; }
                case VALUE_FALSE -> { return Boolean.FALSE; }
                case VALUE_NULL -> { return null; }
                default -> {
                    Object o = p.getEmbeddedObject();
                    return o == null ? null : o.toString();
                }
            }
        }

        /** Doubles, including YAML's .inf / .nan spellings that Jackson's YAML number parser rejects. */
        private Object floating() throws IOException {
            String text = p.getText().trim();
            switch (text.toLowerCase().replace("+", "")) {
                case ".inf", "inf", "infinity" -> { return Double.POSITIVE_INFINITY; }
                case "-.inf", "-inf", "-infinity" -> { return Double.NEGATIVE_INFINITY; }
                case ".nan", "nan" -> { return Double.NaN; }
                default -> { return p.getDoubleValue(); }
            }
        }
    }

    static String join(String path, String key) { return path.isEmpty() ? key : path + "." + key; }

    // ------------------------------------------------------------------ positions

    /** Position of a key path, or of its nearest ancestor that has one. */
    Pos position(String path) {
        String p = path;
        while (true) {
            Pos pos = positions.get(p);
            if (pos != null) return pos;
            if (p.isEmpty()) return null;
            p = parent(p);
        }
    }

    /** "file:line:col, key a.b.c" plus the interpolation the value came from, for messages. */
    String where(String path) {
        Pos pos = position(path);
        String s = source + (pos == null ? "" : ":" + pos) + ", key " + path;
        if (!positions.containsKey(path)) s += " (not in the file: the official default)";
        String via = interpolatedFrom.get(path);
        return via == null ? s : s + " = " + via;
    }

    private static String parent(String path) {
        int dot = path.lastIndexOf('.');
        int br = path.lastIndexOf('[');
        int cut = Math.max(dot, br);
        return cut <= 0 ? "" : path.substring(0, cut);
    }

    // ------------------------------------------------------------------ OmegaConf interpolation

    private static final Pattern WHOLE = Pattern.compile("^\\$\\{([^${}]*)}$");
    private static final Pattern PART = Pattern.compile("(?<!\\\\)\\$\\{([^${}]*)}");

    /**
     * The subtree at {@code path} (segments of String keys / Integer indices) with OmegaConf interpolations
     * resolved against the whole document: {@code ${a.b.c}} absolute, {@code ${.x}} relative to the map holding
     * the key ({@code ${..x}} one level further up), {@code ${a[0]}} / {@code ${a.0}} list items. A value that is
     * exactly one interpolation takes the referenced node with its type; an interpolation inside a longer string is
     * replaced by the referenced scalar's text. {@code \${} is a literal "${". Resolver calls
     * ({@code ${oc.env:X}}) are not supported and are reported.
     */
    Object resolved(List<Object> path, List<ConfigError> errors) {
        Object node = lookup(path);
        return new Resolver(errors).tree(node, path);
    }

    /** The node at a segment path, or MISSING. */
    Object lookup(List<Object> path) {
        Object node = root;
        for (Object seg : path) {
            if (node instanceof Map<?, ?> m && seg instanceof String k && m.containsKey(k)) node = m.get(k);
            else if (node instanceof List<?> l && seg instanceof Integer i && i >= 0 && i < l.size()) node = l.get(i);
            else return MISSING;
        }
        return node;
    }

    static final Object MISSING = new Object() {
        @Override
        public String toString() { return "<missing>"; }
    };

    static String format(List<Object> path) {
        StringBuilder sb = new StringBuilder();
        for (Object seg : path) {
            if (seg instanceof Integer i) sb.append('[').append(i).append(']');
            else {
                if (!sb.isEmpty()) sb.append('.');
                sb.append(seg);
            }
        }
        return sb.toString();
    }

    private final class Resolver {
        final List<ConfigError> errors;
        final Deque<String> stack = new ArrayDeque<>();

        Resolver(List<ConfigError> errors) { this.errors = errors; }

        Object tree(Object node, List<Object> path) {
            if (node instanceof Map<?, ?> m) {
                LinkedHashMap<String, Object> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : m.entrySet()) out.put((String) e.getKey(), tree(e.getValue(), append(path, e.getKey())));
                return out;
            }
            if (node instanceof List<?> l) {
                List<Object> out = new ArrayList<>(l.size());
                for (int i = 0; i < l.size(); i++) out.add(tree(l.get(i), append(path, i)));
                return out;
            }
            if (node instanceof String s) return string(s, path);
            return node;
        }

        private Object string(String s, List<Object> path) {
            if (!s.contains("${")) return s;
            Matcher whole = WHOLE.matcher(s);
            if (whole.matches()) {
                interpolatedFrom.putIfAbsent(format(path), s);
                return reference(whole.group(1), path);
            }
            if (s.replace("\\${", "").contains("${") && !PART.matcher(s).find()) {
                error(path, "cannot parse the interpolation in \"" + s + "\" (nested interpolations are not supported)");
                return null;
            }
            Matcher m = PART.matcher(s);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                Object v = reference(m.group(1), path);
                if (v instanceof Map<?, ?> || v instanceof List<?>) {
                    error(path, "\"" + s + "\" inserts ${" + m.group(1) + "}, which is a "
                            + (v instanceof Map<?, ?> ? "map" : "list") + ", into a string");
                    v = "";
                }
                m.appendReplacement(sb, Matcher.quoteReplacement(pyStr(v)));
            }
            m.appendTail(sb);
            interpolatedFrom.putIfAbsent(format(path), s);
            return sb.toString().replace("\\${", "${");
        }

        private Object reference(String ref, List<Object> path) {
            String r = ref.trim();
            if (r.contains(":")) {
                error(path, "${" + ref + "} calls a resolver; only references to other keys (${a.b}, ${.x}) are"
                        + " supported");
                return null;
            }
            List<Object> target = new ArrayList<>();
            int i = 0;
            if (r.startsWith(".")) {
                int dots = 0;
                while (dots < r.length() && r.charAt(dots) == '.') dots++;
                // ${.x} is a sibling: the container of the key holding the interpolation; each extra dot goes up.
                List<Object> container = path.subList(0, Math.max(0, path.size() - 1));
                int up = dots - 1;
                if (up > container.size()) {
                    error(path, "${" + ref + "} goes " + up + " level(s) above " + format(container) + ", past the root");
                    return null;
                }
                target.addAll(container.subList(0, container.size() - up));
                i = dots;
            }
            String rest = r.substring(i);
            if (!rest.isEmpty()) {
                for (String part : rest.split("\\.", -1)) {
                    Matcher idx = Pattern.compile("^([^\\[]*)((?:\\[\\d+])*)$").matcher(part);
                    if (part.isEmpty() || !idx.matches()) {
                        error(path, "cannot parse the key path in ${" + ref + "}");
                        return null;
                    }
                    if (!idx.group(1).isEmpty()) target.add(idx.group(1));
                    Matcher br = Pattern.compile("\\[(\\d+)]").matcher(idx.group(2));
                    while (br.find()) target.add(Integer.parseInt(br.group(1)));
                }
            }
            Object node = lookupLenient(target);
            if (node == MISSING) {
                error(path, "${" + ref + "} refers to " + (target.isEmpty() ? "the root" : format(target))
                        + ", which does not exist");
                return null;
            }
            String key = format(target);
            if (stack.contains(key)) {
                error(path, "${" + ref + "} is circular: " + String.join(" → ", stack) + " → " + key);
                return null;
            }
            stack.push(key);
            try {
                return tree(node, target);
            } finally {
                stack.pop();
            }
        }

        /** Like lookup, but a digit segment also indexes a list (OmegaConf's ${a.0}). */
        private Object lookupLenient(List<Object> target) {
            Object node = root;
            for (int k = 0; k < target.size(); k++) {
                Object seg = target.get(k);
                if (node instanceof List<?> l && seg instanceof String s && s.matches("\\d+")) {
                    seg = Integer.parseInt(s);
                    target.set(k, seg);
                }
                if (node instanceof Map<?, ?> m && seg instanceof String key && m.containsKey(key)) node = m.get(key);
                else if (node instanceof List<?> l && seg instanceof Integer idx && idx < l.size()) node = l.get(idx);
                else return MISSING;
            }
            return node;
        }

        private void error(List<Object> path, String message) {
            String p = format(path);
            errors.add(new ConfigError(p, message + " (" + where(p) + ")"));
        }
    }

    private static List<Object> append(List<Object> path, Object seg) {
        List<Object> out = new ArrayList<>(path.size() + 1);
        out.addAll(path);
        out.add(seg);
        return out;
    }

    /** Python's str() of a scalar, as OmegaConf uses when it splices a value into a string. */
    private static String pyStr(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean b) return b ? "True" : "False";
        return v.toString();
    }
}
