package org.xlstm.jvm.config;

import java.util.Map;

/** Fluent Java builder for the xLSTM-7B architecture; {@link #build()} validates. */
public final class XlstmLargeConfigBuilder {
    private int embeddingDim = 4096, numHeads = 8, numBlocks = 32, vocabSize = 50304;
    private boolean useBias;
    private double normEps = 1e-6;
    private boolean normReductionForceFloat32 = true;
    private boolean addOutNorm = true;
    private double qkDimFactor = 0.5, vDimFactor = 1.0, ffnProjFactor = 2.6667;
    private int ffnRoundUpToMultipleOf = 64;
    private double gateSoftCap = 15.0, outputLogitSoftCap = 30.0, eps = 1e-6;
    private int chunkSize = 64;
    private WeightMode weightMode = WeightMode.SINGLE;
    private final Map<String, Object> extras = new java.util.LinkedHashMap<>();

    public XlstmLargeConfigBuilder() {}

    XlstmLargeConfigBuilder(XlstmLargeConfig c) {
        embeddingDim = c.embeddingDim(); numHeads = c.numHeads(); numBlocks = c.numBlocks(); vocabSize = c.vocabSize();
        useBias = c.useBias(); normEps = c.normEps(); normReductionForceFloat32 = c.normReductionForceFloat32();
        addOutNorm = c.addOutNorm(); qkDimFactor = c.qkDimFactor(); vDimFactor = c.vDimFactor();
        ffnProjFactor = c.ffnProjFactor(); ffnRoundUpToMultipleOf = c.ffnRoundUpToMultipleOf();
        gateSoftCap = c.gateSoftCap(); outputLogitSoftCap = c.outputLogitSoftCap(); eps = c.eps();
        chunkSize = c.chunkSize(); weightMode = c.weightMode(); extras.putAll(c.extras());
    }

    public XlstmLargeConfigBuilder embeddingDim(int v) { embeddingDim = v; return this; }
    public XlstmLargeConfigBuilder numHeads(int v) { numHeads = v; return this; }
    public XlstmLargeConfigBuilder numBlocks(int v) { numBlocks = v; return this; }
    public XlstmLargeConfigBuilder vocabSize(int v) { vocabSize = v; return this; }
    public XlstmLargeConfigBuilder useBias(boolean v) { useBias = v; return this; }
    public XlstmLargeConfigBuilder normEps(double v) { normEps = v; return this; }
    public XlstmLargeConfigBuilder normReductionForceFloat32(boolean v) { normReductionForceFloat32 = v; return this; }
    public XlstmLargeConfigBuilder addOutNorm(boolean v) { addOutNorm = v; return this; }
    public XlstmLargeConfigBuilder qkDimFactor(double v) { qkDimFactor = v; return this; }
    public XlstmLargeConfigBuilder vDimFactor(double v) { vDimFactor = v; return this; }
    public XlstmLargeConfigBuilder ffnProjFactor(double v) { ffnProjFactor = v; return this; }
    public XlstmLargeConfigBuilder ffnRoundUpToMultipleOf(int v) { ffnRoundUpToMultipleOf = v; return this; }
    public XlstmLargeConfigBuilder gateSoftCap(double v) { gateSoftCap = v; return this; }
    public XlstmLargeConfigBuilder outputLogitSoftCap(double v) { outputLogitSoftCap = v; return this; }
    public XlstmLargeConfigBuilder eps(double v) { eps = v; return this; }
    public XlstmLargeConfigBuilder chunkSize(int v) { chunkSize = v; return this; }
    public XlstmLargeConfigBuilder weightMode(WeightMode v) { weightMode = v; return this; }
    public XlstmLargeConfigBuilder extra(String officialKey, Object value) { extras.put(officialKey, value); return this; }

    public XlstmLargeConfig buildUnchecked() {
        return new XlstmLargeConfig(embeddingDim, numHeads, numBlocks, vocabSize, useBias, normEps,
                normReductionForceFloat32, addOutNorm, qkDimFactor, vDimFactor, ffnProjFactor, ffnRoundUpToMultipleOf,
                gateSoftCap, outputLogitSoftCap, eps, chunkSize, weightMode, extras);
    }

    public XlstmLargeConfig build() {
        XlstmLargeConfig c = buildUnchecked();
        ConfigValidator.requireValid(c);
        return c;
    }
}
