package org.xlstm.jvm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte-level BPE read from a Hugging Face {@code tokenizer.json} (the GPT-2 / GPT-NeoX family that xLSTM-7B uses).
 * Encoding follows the Hugging Face pipeline: added tokens are split off first (leftmost-longest; non-normalized
 * ones on the raw text, normalized ones after normalisation), the rest is normalised, split by the GPT-2 regex,
 * mapped byte → char, merged by rank, and looked up. Immutable; safe to share between threads.
 */
public final class BpeTokenizer implements Tokenizer {
    /** GPT-2's pre-tokenizer split; Unicode classes as the Rust regex (Oniguruma) applies them. */
    private static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final int CACHE_LIMIT = 100_000;

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final Map<String, Integer> mergeRanks;
    private final List<AddedToken> addedTokens;
    private final Map<Integer, AddedToken> addedById = new HashMap<>();
    private final UnaryOperator<String> normalizer;
    private final boolean addPrefixSpace;
    private final boolean useRegex;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeTokenizer(Map<String, Integer> vocab, Map<String, Integer> mergeRanks, List<AddedToken> added,
                         UnaryOperator<String> normalizer, boolean addPrefixSpace, boolean useRegex) {
        this.vocab = vocab;
        this.mergeRanks = mergeRanks;
        this.addedTokens = added;
        this.normalizer = normalizer;
        this.addPrefixSpace = addPrefixSpace;
        this.useRegex = useRegex;
        int max = -1;
        for (int id : vocab.values()) max = Math.max(max, id);
        for (AddedToken t : added) max = Math.max(max, t.id());
        idToToken = new String[max + 1];
        vocab.forEach((tok, id) -> idToToken[id] = tok);
        for (AddedToken t : added) {
            addedById.put(t.id(), t);
            idToToken[t.id()] = t.content();
        }
    }

    /** Reads a Hugging Face tokenizer.json; unsupported components are an error naming them. */
    public static BpeTokenizer fromHuggingFaceJson(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        JsonNode model = root.path("model");
        String where = file.toString();
        if (!"BPE".equals(model.path("type").asText()))
            throw new IllegalArgumentException(where + ": model.type \"" + model.path("type").asText() + "\" is not supported (only BPE)");
        if (!model.path("continuing_subword_prefix").isNull() && !model.path("continuing_subword_prefix").isMissingNode()
                || !model.path("end_of_word_suffix").isNull() && !model.path("end_of_word_suffix").isMissingNode()
                || model.path("byte_fallback").asBoolean(false))
            throw new IllegalArgumentException(where + ": BPE with subword prefix/suffix or byte_fallback is not supported");
        Map<String, Integer> vocab = new HashMap<>();
        model.path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        Map<String, Integer> ranks = new HashMap<>();
        int r = 0;
        for (JsonNode m : model.path("merges")) {
            String a, b;
            if (m.isArray()) { a = m.get(0).asText(); b = m.get(1).asText(); }
            else {
                String s = m.asText();
                int sp = s.indexOf(' ');
                a = s.substring(0, sp);
                b = s.substring(sp + 1);
            }
            ranks.putIfAbsent(pairKey(a, b), r++);
        }
        List<AddedToken> added = new ArrayList<>();
        for (JsonNode t : root.path("added_tokens")) {
            added.add(new AddedToken(t.path("id").asInt(), t.path("content").asText(), t.path("special").asBoolean(),
                    t.path("single_word").asBoolean(), t.path("lstrip").asBoolean(), t.path("rstrip").asBoolean(),
                    t.path("normalized").asBoolean()));
        }
        UnaryOperator<String> normalizer = normalizer(root.path("normalizer"), where);
        JsonNode pre = root.path("pre_tokenizer");
        boolean prefix = false, regex = true;
        if (!pre.isNull() && !pre.isMissingNode()) {
            if (!"ByteLevel".equals(pre.path("type").asText()))
                throw new IllegalArgumentException(where + ": pre_tokenizer \"" + pre.path("type").asText() + "\" is not supported (only ByteLevel)");
            prefix = pre.path("add_prefix_space").asBoolean(false);
            regex = pre.path("use_regex").asBoolean(true);
        }
        JsonNode dec = root.path("decoder");
        if (!dec.isNull() && !dec.isMissingNode() && !"ByteLevel".equals(dec.path("type").asText()))
            throw new IllegalArgumentException(where + ": decoder \"" + dec.path("type").asText() + "\" is not supported (only ByteLevel)");
        return new BpeTokenizer(vocab, ranks, List.copyOf(added), normalizer, prefix, regex);
    }

    private static UnaryOperator<String> normalizer(JsonNode n, String where) {
        if (n.isNull() || n.isMissingNode()) return s -> s;
        return switch (n.path("type").asText()) {
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Lowercase" -> s -> s.toLowerCase(java.util.Locale.ROOT);
            case "Sequence" -> {
                List<UnaryOperator<String>> parts = new ArrayList<>();
                for (JsonNode p : n.path("normalizers")) parts.add(normalizer(p, where));
                yield s -> {
                    for (UnaryOperator<String> p : parts) s = p.apply(s);
                    return s;
                };
            }
            default -> throw new IllegalArgumentException(where + ": normalizer \"" + n.path("type").asText() + "\" is not supported");
        };
    }

    private static String pairKey(String a, String b) { return a + '\u0000' + b; }

    @Override
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        // Pass 1: added tokens matched on the raw text; pass 2: normalized ones, on each normalized remainder.
        for (Object piece : split(text, false)) {
            if (piece instanceof AddedToken t) { out.add(t.id()); continue; }
            for (Object p2 : split(normalizer.apply((String) piece), true)) {
                if (p2 instanceof AddedToken t) out.add(t.id());
                else encodeNormalized((String) p2, out);
            }
        }
        int[] ids = new int[out.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = out.get(i);
        return ids;
    }

    /** Splits text into plain strings and matched added tokens (leftmost-longest), for one normalized class. */
    private List<Object> split(String text, boolean normalizedClass) {
        List<Object> out = new ArrayList<>();
        int start = 0, i = 0;
        while (i < text.length()) {
            AddedToken best = null;
            for (AddedToken t : addedTokens) {
                if (t.normalized() != normalizedClass || t.content().isEmpty()) continue;
                if (text.startsWith(t.content(), i) && (best == null || t.content().length() > best.content().length())
                        && (!t.singleWord() || isWordBoundary(text, i, i + t.content().length())))
                    best = t;
            }
            if (best == null) { i++; continue; }
            int from = i, to = i + best.content().length();
            if (best.lstrip()) while (from > start && Character.isWhitespace(text.charAt(from - 1))) from--;
            if (best.rstrip()) while (to < text.length() && Character.isWhitespace(text.charAt(to))) to++;
            if (from > start) out.add(text.substring(start, from));
            out.add(best);
            start = i = to;
        }
        if (start < text.length()) out.add(text.substring(start));
        return out;
    }

    private static boolean isWordBoundary(String s, int from, int to) {
        boolean left = from == 0 || !Character.isLetterOrDigit(s.charAt(from - 1));
        boolean right = to == s.length() || !Character.isLetterOrDigit(s.charAt(to));
        return left && right;
    }

    private void encodeNormalized(String text, List<Integer> out) {
        if (text.isEmpty()) return;
        if (addPrefixSpace && !text.startsWith(" ")) text = " " + text;
        if (!useRegex) { encodeWord(text, out); return; }
        Matcher m = GPT2_SPLIT.matcher(text);
        while (m.find()) encodeWord(m.group(), out);
    }

    private void encodeWord(String word, List<Integer> out) {
        int[] cached = cache.get(word);
        if (cached == null) {
            cached = bpe(word);
            if (cache.size() < CACHE_LIMIT) cache.put(word, cached);
        }
        for (int id : cached) out.add(id);
    }

    private int[] bpe(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        List<String> symbols = new ArrayList<>(bytes.length);
        for (byte b : bytes) symbols.add(String.valueOf(ByteLevelAlphabet.BYTE_TO_CHAR[b & 0xFF]));
        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE, bestAt = -1;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = mergeRanks.get(pairKey(symbols.get(i), symbols.get(i + 1)));
                if (rank != null && rank < bestRank) { bestRank = rank; bestAt = i; }
            }
            if (bestAt < 0) break;
            String a = symbols.get(bestAt), b = symbols.get(bestAt + 1);
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(a) && symbols.get(i + 1).equals(b)) {
                    merged.add(a + b);
                    i++;
                } else merged.add(symbols.get(i));
            }
            symbols = merged;
        }
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = vocab.get(symbols.get(i));
            if (id == null) throw new IllegalStateException("BPE produced \"" + symbols.get(i) + "\", which is not in the vocabulary");
            ids[i] = id;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int k = 0; k < ids.length; k++) {
            int id = ids[k];
            if (id < 0 || id >= idToToken.length || idToToken[id] == null)
                throw new IllegalArgumentException("token id " + id + " at position " + k + " is not in the vocabulary (size " + vocabSize() + ")");
            String tok = idToToken[id];
            // The byte-level decoder maps each char back to its byte; a token with a char outside the
            // alphabet (an added token such as a run of spaces) contributes its UTF-8 bytes as they are.
            byte[] mapped = new byte[tok.length()];
            boolean ok = true;
            for (int i = 0; i < tok.length() && ok; i++) {
                int b = ByteLevelAlphabet.byteOf(tok.charAt(i));
                if (b < 0) ok = false;
                else mapped[i] = (byte) b;
            }
            bytes.writeBytes(ok ? mapped : tok.getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() { return idToToken.length; }

    @Override
    public Optional<Integer> specialTokenId(String content) {
        for (AddedToken t : addedTokens) if (t.special() && t.content().equals(content)) return Optional.of(t.id());
        return Optional.ofNullable(vocab.get(content));
    }

    /** The token text of an id (byte-level chars for model tokens), for debugging and display. */
    public String tokenText(int id) { return idToToken[id]; }

    /** Added tokens in the file's order. */
    public List<String> addedTokenContents() {
        return Collections.unmodifiableList(addedTokens.stream().map(AddedToken::content).toList());
    }
}
