package org.xlstm.jvm.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads and writes architectures in the official layouts.
 *
 * <p>Reading ({@link #read(Path)}) understands:
 * <ul>
 *   <li>a {@code config.json} in the {@code xLSTMLMModelConfig} layout (XLSTM.md §1): missing keys take the official
 *       defaults, {@code slstm_at} may be {@code "all"}, {@code mlstm_block} / {@code slstm_block} may be null or
 *       absent (absent = not configured, as officially), {@code slstm_block: {}} is the default sLSTM block,
 *       {@code slstm_block.feedforward: null} removes the feed-forward (absent = the default feed-forward);</li>
 *   <li>an xLSTM-7B config: ours ({@code "architecture": "xlstm_large"}) or a Hugging Face one ({@code model_type
 *       "xlstm"}); also recognised by {@code qk_dim_factor} / {@code ffn_proj_factor}. {@code hidden_size} /
 *       {@code num_hidden_layers} are accepted for {@code embedding_dim} / {@code num_blocks}; a soft cap of null
 *       means no cap;</li>
 *   <li>a YAML experiment file (official {@code experiments/*.yaml}): its {@code model:} section, with OmegaConf
 *       interpolations {@code ${a.b.c}} and {@code ${.x}} resolved against the whole document; a YAML whose top
 *       level is itself a model section works too.</li>
 * </ul>
 * Keys we do not interpret are kept, in file order, in the {@code extras} of their section and written back.
 * A value of the wrong type, a syntax error or an unknown name is a {@link ConfigFileException} naming the file,
 * the key path and the line. {@code read} checks structure and types only; {@link #load(Path)} also applies
 * {@link ConfigValidator} and points each broken rule at its line.
 *
 * <p>Writing gives every field explicitly, extras preserved; read → write → read returns an equal record.
 */
public final class OfficialConfigs {
    private OfficialConfigs() {}

    /** The two text formats; YAML is read with OmegaConf interpolation, JSON as is. */
    public enum Format {
        JSON, YAML;

        /** By extension (.json, .yaml, .yml), else by content (a document starting with '{' is JSON). */
        public static Format of(Path file, String text) {
            String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".json")) return JSON;
            if (name.endsWith(".yaml") || name.endsWith(".yml")) return YAML;
            return text.stripLeading().startsWith("{") ? JSON : YAML;
        }
    }

    // ------------------------------------------------------------------ reading

    /** Reads a JSON or YAML config file; structure and types are checked, architecture rules are not. */
    public static ModelConfig read(Path file) {
        String text = readText(file);
        return read(text, Format.of(file, text), file.toString());
    }

    public static ModelConfig read(String text, Format format) { return read(text, format, "<" + format.name().toLowerCase(Locale.ROOT) + " text>"); }

    /** @param sourceName how errors name the text (a file name) */
    public static ModelConfig read(String text, Format format, String sourceName) {
        return parse(text, format, sourceName).config();
    }

    /** Reads {@code dir/config.json}, or {@code dir/config.yaml} (the official xLSTM-7B loader's name) if absent. */
    public static ModelConfig readDirectory(Path dir) { return read(configFileIn(dir)); }

    /** Like {@link #read(Path)}, then {@link ConfigValidator}: every broken rule, each pointed at its line. */
    public static ModelConfig load(Path file) {
        String text = readText(file);
        return load(text, Format.of(file, text), file.toString());
    }

    public static ModelConfig load(String text, Format format, String sourceName) {
        OfficialReader.Parsed p = parse(text, format, sourceName);
        List<ConfigError> errors = ConfigValidator.check(p.config());
        if (errors.isEmpty()) return p.config();
        List<ConfigError> located = new ArrayList<>();
        for (ConfigError e : errors)
            located.add(new ConfigError(e.field(), e.message() + " (" + p.tree().where(p.docPrefix() + e.field()) + ")"));
        throw new ConfigFileException(sourceName, located);
    }

    /** {@link #load(Path)} on {@code dir/config.json} (or {@code dir/config.yaml}). */
    public static ModelConfig loadDirectory(Path dir) { return load(configFileIn(dir)); }

    private static OfficialReader.Parsed parse(String text, Format format, String sourceName) {
        SourceTree tree = SourceTree.parse(text, format, sourceName);
        return OfficialReader.read(tree, format == Format.YAML);
    }

    private static Path configFileIn(Path dir) {
        Path json = dir.resolve("config.json");
        if (Files.exists(json)) return json;
        Path yaml = dir.resolve("config.yaml");
        if (Files.exists(yaml)) return yaml;
        throw new ConfigFileException(dir.toString(), List.of(new ConfigError("(file)",
                "no config.json (or config.yaml) in directory " + dir)));
    }

    private static String readText(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigFileException(file.toString(), List.of(new ConfigError("(file)",
                    "cannot read " + file + ": " + e.getClass().getSimpleName()
                            + (e.getMessage() == null ? "" : " " + e.getMessage()))));
        }
    }

    // ------------------------------------------------------------------ writing

    private static final ObjectWriter JSON_WRITER;
    private static final ObjectMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .disable(YAMLGenerator.Feature.SPLIT_LINES)
            .build();

    static {
        // Python's json.dumps(indent=2) look: "key": value, two-space indents.
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter(Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withArrayValueSpacing(Separators.Spacing.AFTER)
                .withArrayEmptySeparator("")
                .withObjectEmptySeparator(""))
                .withObjectIndenter(new DefaultIndenter("  ", "\n"));
        pp.indentArraysWith(new DefaultPrettyPrinter.NopIndenter());
        JSON_WRITER = new ObjectMapper().writer(pp);
    }

    /** The official layout as JSON, every field explicit, extras preserved. */
    public static String toJson(ModelConfig config) {
        try {
            return JSON_WRITER.writeValueAsString(OfficialWriter.tree(config)) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A YAML document with a {@code model:} section (what the official experiments read). "${" inside strings is
     * written as "\${" so that OmegaConf does not take it for an interpolation.
     */
    public static String toYaml(ModelConfig config) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model", escapeInterpolations(OfficialWriter.tree(config)));
        try {
            return YAML.writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes JSON or YAML by the file's extension (.yaml/.yml: YAML, anything else: JSON). */
    public static void write(ModelConfig config, Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String text = name.endsWith(".yaml") || name.endsWith(".yml") ? toYaml(config) : toJson(config);
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static Object escapeInterpolations(Object v) {
        if (v instanceof String s) return s.replace("${", "\\${");
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put((String) k, escapeInterpolations(x)));
            return out;
        }
        if (v instanceof List<?> l) return l.stream().map(OfficialConfigs::escapeInterpolations).toList();
        return v;
    }
}
