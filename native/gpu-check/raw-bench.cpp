// Duet's raw decode bench in C++, for machines without Node (native/gpu-check.sh): the same
// measurements as src/engine/bench/nativeBench.ts, straight on the patched llama.h, plus a writer
// for Qwen3-shaped GGUF files with random weights and two exactness checks of the patched
// operations on the machine's backend. See docs/native-build.md.
//
//   duet-raw-bench make-model OUT.gguf [--shape 0.6b|8b]
//   duet-raw-bench run MODEL.gguf [--gpu-layers N] [--ctx N] [--fill N] [--steps N] [--threads N]
//                                 [--flash-attn auto|on|off] [--json PATH]

#include "ggml.h"
#include "gguf.h"
#include "llama.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Shape {
    const char * name;
    int layers, heads, kv_heads, embedding, head_dim, feed_forward, vocab;
};

const Shape SHAPES[] = {
    {"0.6b", 28, 16, 8, 1024, 128, 3072, 151936},
    {"8b", 36, 32, 8, 4096, 128, 12288, 151936},
};

[[noreturn]] void die(const std::string & message) {
    fprintf(stderr, "duet-raw-bench: %s\n", message.c_str());
    exit(1);
}

const char * arg_value(int argc, char ** argv, const char * name, const char * fallback) {
    for (int i = 0; i + 1 < argc; ++i) {
        if (strcmp(argv[i], name) == 0) {
            return argv[i + 1];
        }
    }
    return fallback;
}

// GPT-2's byte-to-unicode map: the byte-level BPE vocabulary llama.cpp expects for "gpt2".
std::vector<std::string> byte_tokens() {
    std::vector<int> printable;
    for (int b = '!'; b <= '~'; ++b) printable.push_back(b);
    for (int b = 0xA1; b <= 0xAC; ++b) printable.push_back(b);
    for (int b = 0xAE; b <= 0xFF; ++b) printable.push_back(b);
    std::vector<std::string> out(256);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
        const bool kept = std::find(printable.begin(), printable.end(), b) != printable.end();
        const int cp = kept ? b : 256 + extra++;
        std::string s;
        if (cp < 0x80) {
            s += (char) cp;
        } else {
            s += (char) (0xC0 | (cp >> 6));
            s += (char) (0x80 | (cp & 0x3F));
        }
        out[b] = s;
    }
    return out;
}

// Writes a Qwen3-shaped model with random q8_0 weights (f32 norms). Blocks come from a small
// random pool per tensor, repeated: the timing of a decode does not depend on the values.
void make_model(const std::string & path, const Shape & shape) {
    gguf_context * g = gguf_init_empty();
    const std::string arch = "qwen3";
    auto key = [&](const char * k) { return arch + "." + k; };
    gguf_set_val_str(g, "general.architecture", arch.c_str());
    gguf_set_val_str(g, "general.name", (std::string("duet-random-qwen3-") + shape.name).c_str());
    gguf_set_val_u32(g, "general.file_type", 7); // mostly q8_0
    gguf_set_val_u32(g, key("context_length").c_str(), 40960);
    gguf_set_val_u32(g, key("embedding_length").c_str(), shape.embedding);
    gguf_set_val_u32(g, key("block_count").c_str(), shape.layers);
    gguf_set_val_u32(g, key("feed_forward_length").c_str(), shape.feed_forward);
    gguf_set_val_u32(g, key("attention.head_count").c_str(), shape.heads);
    gguf_set_val_u32(g, key("attention.head_count_kv").c_str(), shape.kv_heads);
    gguf_set_val_u32(g, key("attention.key_length").c_str(), shape.head_dim);
    gguf_set_val_u32(g, key("attention.value_length").c_str(), shape.head_dim);
    gguf_set_val_u32(g, key("rope.dimension_count").c_str(), shape.head_dim);
    gguf_set_val_f32(g, key("rope.freq_base").c_str(), 1000000.0f);
    gguf_set_val_f32(g, key("attention.layer_norm_rms_epsilon").c_str(), 1e-6f);

    // Vocabulary: the 256 byte tokens, three ChatML control tokens, then unused padding.
    std::vector<std::string> tokens = byte_tokens();
    std::vector<int32_t> types(256, 1); // normal
    for (const char * special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
        tokens.push_back(special);
        types.push_back(3); // control
    }
    while ((int) tokens.size() < shape.vocab) {
        tokens.push_back("[PAD" + std::to_string(tokens.size()) + "]");
        types.push_back(5); // unused
    }
    std::vector<const char *> token_ptrs;
    for (const auto & t : tokens) token_ptrs.push_back(t.c_str());
    const std::string space = byte_tokens()[' '];
    const std::string merge = space + " " + byte_tokens()['t'];
    const char * merges[] = {merge.c_str()};
    gguf_set_val_str(g, "tokenizer.ggml.model", "gpt2");
    gguf_set_val_str(g, "tokenizer.ggml.pre", "qwen2");
    gguf_set_arr_str(g, "tokenizer.ggml.tokens", token_ptrs.data(), token_ptrs.size());
    gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
    gguf_set_arr_str(g, "tokenizer.ggml.merges", merges, 1);
    gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", 256);
    gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", 258);
    gguf_set_val_u32(g, "tokenizer.ggml.padding_token_id", 256);
    gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", false);

    const int E = shape.embedding, D = shape.head_dim, F = shape.feed_forward, V = shape.vocab;
    const int HD = shape.heads * D, KD = shape.kv_heads * D;
    struct TensorSpec {
        std::string name;
        int ne0, ne1;
        bool quantized;
    };
    std::vector<TensorSpec> specs = {{"token_embd.weight", E, V, true}, {"output_norm.weight", E, 1, false}, {"output.weight", E, V, true}};
    for (int l = 0; l < shape.layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        specs.push_back({p + "attn_norm.weight", E, 1, false});
        specs.push_back({p + "attn_q.weight", E, HD, true});
        specs.push_back({p + "attn_k.weight", E, KD, true});
        specs.push_back({p + "attn_v.weight", E, KD, true});
        specs.push_back({p + "attn_output.weight", HD, E, true});
        specs.push_back({p + "attn_q_norm.weight", D, 1, false});
        specs.push_back({p + "attn_k_norm.weight", D, 1, false});
        specs.push_back({p + "ffn_norm.weight", E, 1, false});
        specs.push_back({p + "ffn_gate.weight", E, F, true});
        specs.push_back({p + "ffn_up.weight", E, F, true});
        specs.push_back({p + "ffn_down.weight", F, E, true});
    }

    ggml_init_params params = {ggml_tensor_overhead() * (specs.size() + 1), nullptr, true};
    ggml_context * ctx = ggml_init(params);
    std::vector<ggml_tensor *> tensors;
    for (const auto & s : specs) {
        ggml_tensor * t = s.ne1 == 1 ? ggml_new_tensor_1d(ctx, GGML_TYPE_F32, s.ne0)
                                     : ggml_new_tensor_2d(ctx, s.quantized ? GGML_TYPE_Q8_0 : GGML_TYPE_F32, s.ne0, s.ne1);
        ggml_set_name(t, s.name.c_str());
        gguf_add_tensor(g, t);
        tensors.push_back(t);
    }

    FILE * f = fopen(path.c_str(), "wb");
    if (!f) die("cannot write " + path);
    if (!gguf_write_to_file_ptr(g, f, true)) die("cannot write the GGUF header of " + path);
    const size_t alignment = gguf_get_alignment(g);
    const size_t data_start = (gguf_get_meta_size(g) + alignment - 1) / alignment * alignment;

    std::mt19937_64 rng(7);
    std::vector<uint8_t> pool;
    size_t written = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const size_t offset = data_start + gguf_get_tensor_offset(g, (int64_t) i);
        if (fseek(f, 0, SEEK_END) != 0) die("seek failed");
        for (long pos = ftell(f); (size_t) pos < offset; ++pos) fputc(0, f);
        const size_t bytes = ggml_nbytes(tensors[i]);
        if (!specs[i].quantized) {
            std::vector<float> ones(bytes / sizeof(float), 1.0f);
            fwrite(ones.data(), 1, bytes, f);
        } else {
            // block_q8_0: an f16 scale, then 32 int8 values; weights of standard deviation ~1/sqrt(ne0)
            const size_t block = sizeof(ggml_fp16_t) + 32;
            const size_t pool_blocks = 1 << 15;
            pool.resize(pool_blocks * block);
            const ggml_fp16_t d = ggml_fp32_to_fp16(1.0f / (73.0f * std::sqrt((float) specs[i].ne0)));
            for (size_t b = 0; b < pool_blocks; ++b) {
                memcpy(&pool[b * block], &d, sizeof(d));
                for (size_t k = 0; k < 32; ++k) pool[b * block + sizeof(d) + k] = (uint8_t) (int8_t) ((int) (rng() % 255) - 127);
            }
            for (size_t done = 0; done < bytes;) {
                const size_t n = std::min(pool.size(), bytes - done);
                fwrite(pool.data(), 1, n, f);
                done += n;
            }
        }
        written += bytes;
    }
    fclose(f);
    gguf_free(g);
    ggml_free(ctx);
    fprintf(stderr, "wrote %s (%s shape, %.2f GB of weights)\n", path.c_str(), shape.name, written / 1e9);
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Item {
    int seq;
    int pos;
    std::vector<llama_token> tokens;
    bool logits;
};

class Runtime {
  public:
    llama_context * ctx;
    llama_memory_t mem;
    llama_batch batch;

    explicit Runtime(llama_context * c) : ctx(c), mem(llama_get_memory(c)), batch(llama_batch_init(512, 0, 1)) {}
    ~Runtime() { llama_batch_free(batch); }

    // Decodes the items as one batch, each sequence's items in position order.
    void decode(std::vector<Item> items) {
        std::stable_sort(items.begin(), items.end(), [](const Item & a, const Item & b) { return a.seq != b.seq ? a.seq < b.seq : a.pos < b.pos; });
        batch.n_tokens = 0;
        for (const auto & it : items) {
            for (size_t i = 0; i < it.tokens.size(); ++i) {
                const int k = batch.n_tokens++;
                batch.token[k] = it.tokens[i];
                batch.pos[k] = it.pos + (int) i;
                batch.n_seq_id[k] = 1;
                batch.seq_id[k][0] = it.seq;
                batch.logits[k] = it.logits && i + 1 == it.tokens.size();
            }
        }
        if (llama_decode(ctx, batch) != 0) throw std::runtime_error("llama_decode failed");
        llama_synchronize(ctx);
    }
    void clear(int seq) { llama_memory_seq_rm(mem, seq, -1, -1); }
    void shift(int seq, int p0, int p1, int delta) { llama_memory_seq_add(mem, seq, p0, p1, delta); }
    int max_pos(int seq) { return llama_memory_seq_pos_max(mem, seq); }
    std::vector<float> logits(int i, int n_vocab) {
        const float * l = llama_get_logits_ith(ctx, i);
        return std::vector<float>(l, l + n_vocab);
    }
};

llama_token tok(int step, int seq) { return (1000 + step * 7 + seq * 3) % 5000; }

std::vector<llama_token> prompt(int n, int seed) {
    std::vector<llama_token> t(n);
    for (int i = 0; i < n; ++i) t[i] = (seed + i * 31) % 5000;
    return t;
}

struct Stats {
    double mean, median;
};
Stats stats(std::vector<double> s) {
    double sum = 0;
    for (double v : s) sum += v;
    std::sort(s.begin(), s.end());
    return {sum / s.size(), s[s.size() / 2]};
}

double max_abs_diff(const std::vector<float> & a, const std::vector<float> & b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, (double) std::fabs(a[i] - b[i]));
    return m;
}

void run(const std::string & model_path, int argc, char ** argv) {
    const int gpu_layers = atoi(arg_value(argc, argv, "--gpu-layers", "999"));
    const int ctx_size = atoi(arg_value(argc, argv, "--ctx", "2048"));
    const int fill = atoi(arg_value(argc, argv, "--fill", "600"));
    const int steps = atoi(arg_value(argc, argv, "--steps", "32"));
    const int threads = atoi(arg_value(argc, argv, "--threads", "0"));
    const std::string fa = arg_value(argc, argv, "--flash-attn", "auto");
    const char * json_path = arg_value(argc, argv, "--json", nullptr);
    const int warmup = 3, total = steps + warmup, gap = total;
    if (fill + 3 * total + 2 > ctx_size) die("--fill and --steps need a larger --ctx");

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = gpu_layers;
    const auto t_load = Clock::now();
    llama_model * model = llama_model_load_from_file(model_path.c_str(), mp);
    if (!model) die("cannot load " + model_path);
    const double load_ms = ms_since(t_load);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2 * ctx_size;
    cp.n_seq_max = 2;
    cp.n_batch = cp.n_ubatch = 512;
    cp.kv_unified = false;
    cp.type_k = cp.type_v = GGML_TYPE_F16;
    cp.flash_attn_type = fa == "on" ? LLAMA_FLASH_ATTN_TYPE_ENABLED : fa == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    // On the CPU, one thread per core (llama.cpp's default of 4 oversubscribes small machines).
    const int cpu_threads = threads > 0 ? threads : gpu_layers == 0 ? (int) std::max(1u, std::thread::hardware_concurrency()) : 0;
    if (cpu_threads > 0) cp.n_threads = cp.n_threads_batch = cpu_threads;
    cp.no_perf = true;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) die("cannot create a context");
    Runtime rt(ctx);

    auto prefill = [&]() {
        rt.clear(0);
        rt.clear(1);
        for (int start = 0; start < fill; start += 256) {
            const int n = std::min(256, fill - start);
            auto a = prompt(fill, 1), b = prompt(fill, 2);
            rt.decode({{0, start, std::vector<llama_token>(a.begin() + start, a.begin() + start + n), false},
                       {1, start, std::vector<llama_token>(b.begin() + start, b.begin() + start + n), false}});
        }
    };
    std::string json = "{";
    auto report = [&](const char * name, const std::vector<double> & samples) {
        const Stats s = stats(samples);
        fprintf(stderr, "  %-16s %9.3f ms/step mean (median %.3f)\n", name, s.mean, s.median);
        json += "\"" + std::string(name) + "\":{\"meanMs\":" + std::to_string(s.mean) + ",\"medianMs\":" + std::to_string(s.median) + "},";
    };
    auto time_steps = [&](auto && step) {
        std::vector<double> samples;
        for (int i = 0; i < total; ++i) {
            const auto t0 = Clock::now();
            step(i);
            if (i >= warmup) samples.push_back(ms_since(t0));
        }
        return samples;
    };

    prefill();
    report("oneToken", time_steps([&](int i) { rt.decode({{0, fill + i, {tok(i, 0)}, true}}); }));
    prefill();
    report("twoTokens", time_steps([&](int i) { rt.decode({{0, fill + i, {tok(i, 0)}, true}, {1, fill + i, {tok(i, 1)}, true}}); }));
    prefill();
    report("fourTokensAtEnd", time_steps([&](int i) {
        rt.decode({{0, fill + 2 * i, {tok(i, 0), tok(i, 1)}, true}, {1, fill + 2 * i, {tok(i, 1), tok(i, 0)}, true}});
    }));
    prefill();
    report("stockMirror", time_steps([&](int i) {
        const int end = fill + 2 * i, mirrored = end + 1, target = fill + i;
        rt.decode({{0, end, {tok(i, 0), tok(i, 1)}, true}, {1, end, {tok(i, 1), tok(i, 0)}, true}});
        for (int s = 0; s < 2; ++s) {
            rt.shift(s, mirrored, mirrored + 1, 1);
            rt.shift(s, target, mirrored, 1);
            rt.shift(s, mirrored + 1, mirrored + 2, target - mirrored - 1);
        }
    }));
    if (rt.max_pos(0) != fill + 2 * total - 1) die("stockMirror left a wrong layout");
    rt.decode({{0, fill + 2 * total, {1}, false}});

    prefill();
    {
        std::vector<double> plain, with_pass;
        for (int i = 0; i < 8; ++i) {
            auto t0 = Clock::now();
            rt.decode({{0, fill, {7}, true}});
            plain.push_back(ms_since(t0));
            rt.shift(0, fill, fill + 1, 1);
            t0 = Clock::now();
            rt.decode({{0, fill + 2, {8}, true}});
            with_pass.push_back(ms_since(t0));
            llama_memory_seq_rm(rt.mem, 0, fill, -1);
        }
        const double pass = stats(with_pass).median - stats(plain).median;
        fprintf(stderr, "  %-16s %9.3f ms per pass\n", "shiftPassMs", pass);
        json += "\"shiftPassMs\":" + std::to_string(pass) + ",";
    }

    prefill();
    llama_duet_set_allow_pos_gaps(ctx, true);
    report("gapMirror", time_steps([&](int i) {
        const int own = fill + gap + i;
        rt.decode({{0, own, {tok(i, 0)}, true}, {0, fill + i, {tok(i, 1)}, false}, {1, own, {tok(i, 1)}, true}, {1, fill + i, {tok(i, 0)}, false}});
    }));
    for (int copies = 2; copies >= 1; --copies) {
        prefill();
        report(copies == 2 ? "copyMirror" : "copyOne", time_steps([&](int i) {
            const int own = fill + gap + i;
            rt.decode({{0, own, {tok(i, 0)}, true}, {1, own, {tok(i, 1)}, true}});
            llama_duet_cell_copy c[2] = {{0, 1, own, own + 1, fill + i - own}, {1, 0, own, own + 1, fill + i - own}};
            if (llama_duet_copy_cells(ctx, c, copies) != copies) die("copy failed");
        }));
    }

    // Exactness on this backend: a token in a gap against a plain decode of its prefix, and a copied
    // whole prefix (shifted) against its source. Control: a different prefix.
    {
        const auto P = prompt(64, 11), X = prompt(4, 23);
        auto PX = P;
        PX.insert(PX.end(), X.begin(), X.end());
        rt.clear(0);
        rt.clear(1);
        rt.decode({{0, 0, P, false}});
        rt.decode({{0, (int) P.size() + 8, prompt(16, 5), false}});
        rt.decode({{0, (int) P.size(), X, true}});
        const auto in_gap = rt.logits(-1, n_vocab);
        rt.decode({{1, 0, PX, true}});
        const auto plain = rt.logits(-1, n_vocab);
        rt.clear(1);
        auto other = prompt(64, 12);
        other.insert(other.end(), X.begin(), X.end());
        rt.decode({{1, 0, other, true}});
        const auto control = rt.logits(-1, n_vocab);
        rt.clear(0);
        rt.clear(1);
        rt.decode({{0, 0, PX, false}});
        if (llama_duet_copy_cells(ctx, std::vector<llama_duet_cell_copy>{{0, 1, 0, (int) PX.size(), 37}}.data(), 1) != (int) PX.size()) die("copy check failed");
        rt.decode({{1, (int) PX.size() + 37, {42}, true}});
        const auto copied = rt.logits(-1, n_vocab);
        rt.decode({{0, (int) PX.size(), {42}, true}});
        const auto source = rt.logits(-1, n_vocab);
        const double gap_diff = max_abs_diff(in_gap, plain), copy_diff = max_abs_diff(copied, source), control_diff = max_abs_diff(plain, control);
        fprintf(stderr, "  check: gap token vs plain %.3g, copied prefix vs source %.3g, control (other prefix) %.3g (max |delta logit|)\n",
                gap_diff, copy_diff, control_diff);
        json += "\"check\":{\"gapVsPlain\":" + std::to_string(gap_diff) + ",\"copiedPrefixVsSource\":" + std::to_string(copy_diff) +
                ",\"controlOtherPrefix\":" + std::to_string(control_diff) + "},";
    }
    llama_duet_set_allow_pos_gaps(ctx, false);

    char head[512];
    snprintf(head, sizeof(head), "\"model\":\"%s\",\"gpuLayers\":%d,\"ctx\":%d,\"fill\":%d,\"steps\":%d,\"flashAttn\":\"%s\",\"loadMs\":%.1f,\"system\":\"%s\"}",
             model_path.c_str(), gpu_layers, ctx_size, fill, steps, fa.c_str(), load_ms, llama_print_system_info());
    json += head;
    if (json_path) {
        FILE * f = fopen(json_path, "w");
        if (!f) die(std::string("cannot write ") + json_path);
        fprintf(f, "%s\n", json.c_str());
        fclose(f);
    }
    printf("%s\n", json.c_str());
    llama_free(ctx);
    llama_model_free(model);
}

} // namespace

int main(int argc, char ** argv) {
    if (argc < 3) die("usage: duet-raw-bench make-model OUT.gguf [--shape 0.6b|8b] | run MODEL.gguf [options]");
    llama_backend_init();
    const std::string command = argv[1];
    try {
        if (command == "make-model") {
            const std::string name = arg_value(argc, argv, "--shape", "0.6b");
            for (const auto & s : SHAPES) {
                if (name == s.name) {
                    make_model(argv[2], s);
                    return 0;
                }
            }
            die("unknown --shape " + name);
        } else if (command == "run") {
            run(argv[2], argc, argv);
        } else {
            die("unknown command " + command);
        }
    } catch (const std::exception & e) {
        die(e.what());
    }
    llama_backend_free();
    return 0;
}
