package org.xlstm.jvm.tokenizer;

/**
 * A token matched in the raw text before the model sees it (Hugging Face "added_tokens"). {@code normalized}
 * tokens are matched after normalisation; {@code lstrip}/{@code rstrip} absorb neighbouring whitespace;
 * {@code singleWord} tokens only match outside words.
 */
record AddedToken(int id, String content, boolean special, boolean singleWord, boolean lstrip, boolean rstrip,
                  boolean normalized) {}
