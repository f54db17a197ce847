package org.xlstm.jvm.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Maps a parsed official config (a {@link SourceTree}) onto the records. Missing keys take the official defaults
 * (XLSTM.md §1 and §7); keys we do not interpret go to the {@code extras} of their section; a value of the wrong
 * type is an error naming the key path and its line. All such errors are collected, then thrown together.
 * Semantic rules (heads dividing dims, ...) are {@link ConfigValidator}'s job, not this class's.
 */
final class OfficialReader {
    private final SourceTree tree;
    private final List<ConfigError> errors = new ArrayList<>();
    /** The document path of the model section ("" or "model."), prefixed to official paths in messages. */
    private final String docPrefix;

    private OfficialReader(SourceTree tree, String docPrefix) {
        this.tree = tree;
        this.docPrefix = docPrefix;
    }

    /** What was read, with the tree and the model section's document prefix for locating later errors. */
    record Parsed(ModelConfig config, SourceTree tree, String docPrefix) {}

    /** @param yaml a YAML document: may be an experiment file (model: section), OmegaConf interpolation applies */
    static Parsed read(SourceTree tree, boolean yaml) {
        if (!(tree.root instanceof Map<?, ?> rootMap))
            throw new ConfigFileException(tree.source, List.of(new ConfigError("(file)",
                    "expected a map of settings at the top level, got " + describe(tree.root))));
        // An experiment file (official experiments/*.yaml) keeps the architecture under "model:".
        List<Object> sectionPath = yaml && rootMap.get("model") instanceof Map<?, ?> ? List.of("model") : List.of();
        OfficialReader r = new OfficialReader(tree, sectionPath.isEmpty() ? "" : "model.");
        Object section;
        if (yaml) {
            section = tree.resolved(sectionPath, r.errors);
            r.throwIfErrors();
        } else {
            section = tree.lookup(sectionPath);
        }
        @SuppressWarnings("unchecked")
        Section s = r.new Section((Map<String, Object>) section, "");
        ModelConfig config = isLarge(s.map) ? r.large(s) : r.lm(s);
        r.throwIfErrors();
        return new Parsed(config, tree, r.docPrefix);
    }

    /** xLSTM-7B layout: our fixtures' marker, the HF model_type, or keys only that layout has. */
    static boolean isLarge(Map<String, Object> m) {
        return "xlstm_large".equals(m.get("architecture")) || "xlstm".equals(m.get("model_type"))
                || m.containsKey("qk_dim_factor") || m.containsKey("ffn_proj_factor")
                || (m.get("architectures") instanceof List<?> l && l.contains("xLSTMForCausalLM"));
    }

    private void throwIfErrors() {
        if (!errors.isEmpty()) throw new ConfigFileException(tree.source, errors);
    }

    // ------------------------------------------------------------------ xLSTMLMModelConfig

    private XlstmConfig lm(Section s) {
        int vocab = s.integer("vocab_size", -1);
        int context = s.integer("context_length", -1);
        int blocks = s.integer("num_blocks", 1);
        int dim = s.integer("embedding_dim", 128);
        List<Integer> slstmAt = slstmAt(s, blocks);
        MlstmBlockConfig mlstm = null;
        Section mb = s.section("mlstm_block");
        if (mb != null) mlstm = new MlstmBlockConfig(mlstmLayer(mb.section("mlstm")), mb.rest());
        SlstmBlockConfig slstm = null;
        Section sb = s.section("slstm_block");
        if (sb != null) {
            SlstmLayerConfig layer = slstmLayer(sb.section("slstm"));
            // Officially the feed-forward defaults to a FeedForwardConfig(); only an explicit null removes it.
            FeedForwardConfig ff = sb.has("feedforward") && sb.isNull("feedforward") ? null
                    : feedForward(sb.section("feedforward"));
            if (sb.has("feedforward") && sb.isNull("feedforward")) sb.used.add("feedforward");
            slstm = new SlstmBlockConfig(layer, ff, sb.rest());
        }
        boolean postNorm = s.bool("add_post_blocks_norm", true);
        boolean bias = s.bool("bias", false);
        double dropout = s.number("dropout", 0.0);
        boolean tie = s.bool("tie_weights", false);
        boolean wdEmb = s.bool("weight_decay_on_embedding", false);
        boolean embDrop = s.bool("add_embedding_dropout", false);
        return new XlstmConfig(vocab, context, blocks, dim, slstmAt, mlstm, slstm, postNorm, bias, dropout, tie,
                wdEmb, embDrop, s.rest());
    }

    private List<Integer> slstmAt(Section s, int blocks) {
        if (!s.has("slstm_at") || s.isNull("slstm_at")) {
            s.used.add("slstm_at");
            return List.of();
        }
        Object v = s.map.get("slstm_at");
        s.used.add("slstm_at");
        if ("all".equals(v)) {
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < blocks; i++) all.add(i);
            return all;
        }
        if (!(v instanceof List<?> l)) {
            s.typeError("slstm_at", "a list of block indices or \"all\"", v);
            return List.of();
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            if (l.get(i) instanceof Integer k) out.add(k);
            else s.typeError("slstm_at[" + i + "]", "an integer block index", l.get(i));
        }
        return out;
    }

    private MlstmLayerConfig mlstmLayer(Section s) {
        if (s == null) return MlstmLayerConfig.DEFAULTS;
        MlstmLayerConfig d = MlstmLayerConfig.DEFAULTS;
        return new MlstmLayerConfig(
                s.integer("num_heads", d.numHeads()),
                s.number("proj_factor", d.projFactor()),
                s.integer("conv1d_kernel_size", d.conv1dKernelSize()),
                s.integer("qkv_proj_blocksize", d.qkvProjBlocksize()),
                s.bool("round_proj_up_dim_up", d.roundProjUpDimUp()),
                s.integer("round_proj_up_to_multiple_of", d.roundProjUpToMultipleOf()),
                s.rest());
    }

    private SlstmLayerConfig slstmLayer(Section s) {
        if (s == null) return SlstmLayerConfig.DEFAULTS;
        SlstmLayerConfig d = SlstmLayerConfig.DEFAULTS;
        return new SlstmLayerConfig(
                s.integer("num_heads", d.numHeads()),
                s.integer("conv1d_kernel_size", d.conv1dKernelSize()),
                s.named("backend", d.backend(), SlstmBackend::fromOfficial),
                s.named("bias_init", d.biasInit(), BiasInit::fromOfficial),
                s.named("recurrent_weight_init", d.recurrentWeightInit(), RecurrentWeightInit::fromOfficial),
                s.bool("group_norm_weight", d.groupNormWeight()),
                s.rest());
    }

    private FeedForwardConfig feedForward(Section s) {
        if (s == null) return FeedForwardConfig.DEFAULTS;
        FeedForwardConfig d = FeedForwardConfig.DEFAULTS;
        String type = s.string("ff_type", "ffn_gated");
        if (type != null && !type.equals("ffn_gated"))
            s.error("ff_type", "unknown feed-forward type \"" + type + "\"; the official code knows only ffn_gated");
        return new FeedForwardConfig(
                s.number("proj_factor", d.projFactor()),
                s.named("act_fn", d.actFn(), Activation::fromOfficial),
                s.bool("bias", d.bias()),
                s.bool("round_proj_up_dim_up", d.roundProjUpDimUp()),
                s.integer("round_proj_up_to_multiple_of", d.roundProjUpToMultipleOf()),
                s.rest());
    }

    // ------------------------------------------------------------------ xlstm_large / HF xLSTM

    private XlstmLargeConfig large(Section s) {
        s.used.add("architecture");
        if (s.has("architecture") && !"xlstm_large".equals(s.map.get("architecture")))
            s.used.remove("architecture"); // someone else's marker: keep it
        int dim = s.aliased("embedding_dim", "hidden_size");
        int heads = s.required("num_heads");
        int blocks = s.aliased("num_blocks", "num_hidden_layers");
        int vocab = s.required("vocab_size");
        XlstmLargeConfig d = XlstmLargeConfig.defaults(1, 1, 1, 1);
        return new XlstmLargeConfig(dim, heads, blocks, vocab,
                s.bool("use_bias", d.useBias()),
                s.number("norm_eps", d.normEps()),
                s.bool("norm_reduction_force_float32", d.normReductionForceFloat32()),
                s.bool("add_out_norm", d.addOutNorm()),
                s.number("qk_dim_factor", d.qkDimFactor()),
                s.number("v_dim_factor", d.vDimFactor()),
                s.number("ffn_proj_factor", d.ffnProjFactor()),
                s.integer("ffn_round_up_to_multiple_of", d.ffnRoundUpToMultipleOf()),
                s.softCap("gate_soft_cap", d.gateSoftCap()),
                s.softCap("output_logit_soft_cap", d.outputLogitSoftCap()),
                s.number("eps", d.eps()),
                s.integer("chunk_size", d.chunkSize()),
                s.named("weight_mode", d.weightMode(), WeightMode::fromOfficial),
                s.rest());
    }

    // ------------------------------------------------------------------ typed access with located errors

    /** One map of the document: typed getters that record which keys were consumed; the rest become extras. */
    private final class Section {
        final Map<String, Object> map;
        final String path;
        final Set<String> used = new LinkedHashSet<>();

        Section(Map<String, Object> map, String path) {
            this.map = map;
            this.path = path;
        }

        boolean has(String key) { return map.containsKey(key); }

        boolean isNull(String key) { return map.containsKey(key) && map.get(key) == null; }

        /** A nested map; null when absent or null (callers pick the default). */
        @SuppressWarnings("unchecked")
        Section section(String key) {
            used.add(key);
            Object v = map.get(key);
            if (v == null) return null;
            if (v instanceof Map<?, ?> m) return new Section((Map<String, Object>) m, SourceTree.join(path, key));
            typeError(key, "a map (or null)", v);
            return null;
        }

        int integer(String key, int def) {
            used.add(key);
            if (!map.containsKey(key)) return def;
            Object v = map.get(key);
            if (v instanceof Integer i) return i;
            typeError(key, v instanceof Long ? "an integer that fits in 32 bits" : "an integer", v);
            return def;
        }

        int required(String key) {
            if (!map.containsKey(key)) {
                error(key, "is missing; the xLSTM-7B layout has no default for it");
                return 0;
            }
            return integer(key, 0);
        }

        /** An integer that Hugging Face configs may spell differently (hidden_size for embedding_dim, ...). */
        int aliased(String key, String alias) {
            used.add(alias);
            if (!map.containsKey(alias)) return required(key);
            int a = integer(alias, 0);
            if (!map.containsKey(key)) return a;
            int k = integer(key, 0);
            if (k != a)
                error(alias, alias + " = " + a + " contradicts " + key + " = " + k + "; they name the same size");
            return k;
        }

        double number(String key, double def) {
            used.add(key);
            if (!map.containsKey(key)) return def;
            Object v = map.get(key);
            if (v instanceof Integer || v instanceof Long || v instanceof Double) return ((Number) v).doubleValue();
            typeError(key, "a number", v);
            return def;
        }

        /** A soft cap: a number, or null for none ({@link XlstmLargeConfig#NO_SOFT_CAP}). */
        double softCap(String key, double def) {
            if (isNull(key)) {
                used.add(key);
                return XlstmLargeConfig.NO_SOFT_CAP;
            }
            return number(key, def);
        }

        boolean bool(String key, boolean def) {
            used.add(key);
            if (!map.containsKey(key)) return def;
            Object v = map.get(key);
            if (v instanceof Boolean b) return b;
            typeError(key, "true or false", v);
            return def;
        }

        String string(String key, String def) {
            used.add(key);
            if (!map.containsKey(key)) return def;
            Object v = map.get(key);
            if (v instanceof String s) return s;
            typeError(key, "a string", v);
            return def;
        }

        /** An official name looked up by an enum's fromOfficial; unknown names become located errors. */
        <E> E named(String key, E def, Function<String, E> lookup) {
            String name = string(key, null);
            if (name == null) return def;
            try {
                return lookup.apply(name);
            } catch (ConfigException e) {
                error(key, e.errors().getFirst().message());
                return def;
            }
        }

        /** Unconsumed keys, in file order: the extras of this section. */
        Map<String, Object> rest() {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> { if (!used.contains(k)) out.put(k, v); });
            return out;
        }

        void typeError(String key, String expected, Object got) {
            error(key, "expected " + expected + ", got " + describe(got));
        }

        void error(String key, String message) {
            String official = SourceTree.join(path, key);
            errors.add(new ConfigError(official, message + " (" + tree.where(docPrefix + official) + ")"));
        }
    }

    static String describe(Object v) {
        if (v == null) return "null";
        if (v instanceof String s) return "the string \"" + s + "\"";
        if (v instanceof Map<?, ?>) return "a map";
        if (v instanceof List<?>) return "a list";
        if (v instanceof Boolean b) return b.toString();
        return v.toString();
    }
}
