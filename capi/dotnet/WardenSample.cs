// wasi-warden from C#: the motivating scenario. A host application (as a social VR platform on
// wasmtime's .NET binding would be) runs a user's module with stdout sent to its own chat log
// under a byte limit, an in-memory filesystem for the module's saves, and a permission prompt
// before the module may write a file. The engine, linker and store are made through wasmtime's
// C API (P/Invoke into libwasmtime), wasi-warden attaches to them (P/Invoke into
// libwasi_warden). Build: mcs WardenSample.cs; run: mono WardenSample.exe, with both libraries
// on the loader's path (LD_LIBRARY_PATH) and WW_WASMTIME naming libwasmtime's file.
// Exits 0 when every check holds.
using System;
using System.Runtime.InteropServices;
using System.Text;

static class Wasmtime
{
    const string Lib = "wasmtime";

    [StructLayout(LayoutKind.Sequential)]
    public struct ByteVec { public UIntPtr Size; public IntPtr Data; }

    [StructLayout(LayoutKind.Sequential)]
    public struct Instance { public ulong StoreId; public UIntPtr Private; }

    [StructLayout(LayoutKind.Sequential)]
    public struct Func { public ulong StoreId; public IntPtr Private; }

    /// wasmtime_extern_t: a kind byte, then the union at offset 8 (32 bytes in all).
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    public struct Extern { [FieldOffset(0)] public byte Kind; [FieldOffset(8)] public Func Func; }

    [DllImport(Lib)] public static extern IntPtr wasm_engine_new();
    [DllImport(Lib)] public static extern void wasm_engine_delete(IntPtr engine);
    [DllImport(Lib)] public static extern IntPtr wasmtime_linker_new(IntPtr engine);
    [DllImport(Lib)] public static extern void wasmtime_linker_delete(IntPtr linker);
    [DllImport(Lib)] public static extern IntPtr wasmtime_store_new(IntPtr engine, IntPtr data, IntPtr finalizer);
    [DllImport(Lib)] public static extern IntPtr wasmtime_store_context(IntPtr store);
    [DllImport(Lib)] public static extern void wasmtime_store_delete(IntPtr store);
    [DllImport(Lib)] public static extern IntPtr wasmtime_wat2wasm(byte[] wat, UIntPtr len, out ByteVec wasm);
    [DllImport(Lib)] public static extern void wasm_byte_vec_delete(ref ByteVec vec);
    [DllImport(Lib)] public static extern IntPtr wasmtime_module_new(IntPtr engine, IntPtr wasm, UIntPtr len, out IntPtr module);
    [DllImport(Lib)] public static extern void wasmtime_module_delete(IntPtr module);
    [DllImport(Lib)] public static extern IntPtr wasmtime_linker_instantiate(IntPtr linker, IntPtr context, IntPtr module, out Instance instance, out IntPtr trap);
    [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)]
    public static extern bool wasmtime_instance_export_get(IntPtr context, ref Instance instance, byte[] name, UIntPtr len, out Extern item);
    [DllImport(Lib)] public static extern IntPtr wasmtime_func_call(IntPtr context, ref Func func, IntPtr args, UIntPtr nargs, IntPtr results, UIntPtr nresults, out IntPtr trap);
    [DllImport(Lib)] public static extern void wasmtime_error_message(IntPtr error, out ByteVec message);
    [DllImport(Lib)] public static extern void wasmtime_error_delete(IntPtr error);
    [DllImport(Lib)] public static extern void wasm_trap_delete(IntPtr trap);

    public static void Check(IntPtr error)
    {
        if (error == IntPtr.Zero) return;
        ByteVec message;
        wasmtime_error_message(error, out message);
        string text = Marshal.PtrToStringAnsi(message.Data, (int)message.Size);
        wasm_byte_vec_delete(ref message);
        wasmtime_error_delete(error);
        throw new Exception("wasmtime: " + text);
    }
}

static class Warden
{
    const string Lib = "wasi_warden";
    public const int Stdout = 1;
    public const int LimitTrap = 0;
    public const int StopLimit = 2;
    public const int AnswerAllowOnce = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct Bytes { public IntPtr Data; public UIntPtr Size; }

    [StructLayout(LayoutKind.Sequential)]
    public struct Request
    {
        public IntPtr Syscall; public UIntPtr SyscallLen;
        public uint Access;
        public long Fd; public long Fd2;
        public IntPtr Path; public UIntPtr PathLen;
        public IntPtr Path2; public UIntPtr Path2Len;
        [MarshalAs(UnmanagedType.I1)] public bool Subtree;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Prompt { public IntPtr Message; public UIntPtr MessageLen; public IntPtr Request; }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void OutputCallback(IntPtr env, IntPtr data, UIntPtr len);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int PromptCallback(IntPtr env, IntPtr prompt);

    [DllImport(Lib)] public static extern IntPtr ww_version();
    [DllImport(Lib)] public static extern IntPtr ww_error_message(IntPtr error);
    [DllImport(Lib)] public static extern void ww_error_delete(IntPtr error);
    [DllImport(Lib)] public static extern void ww_bytes_delete(ref Bytes bytes);
    [DllImport(Lib)] public static extern IntPtr ww_init_path(byte[] path, UIntPtr len);
    [DllImport(Lib)] public static extern IntPtr ww_linker_define(IntPtr linker);
    [DllImport(Lib)] public static extern IntPtr ww_config_new();
    [DllImport(Lib)] public static extern IntPtr ww_config_arg(IntPtr config, byte[] arg, UIntPtr len);
    [DllImport(Lib)] public static extern IntPtr ww_config_output_callback(IntPtr config, int stream, OutputCallback callback, IntPtr env, IntPtr finalizer);
    [DllImport(Lib)] public static extern IntPtr ww_config_output_limit(IntPtr config, int stream, ulong bytes, int action);
    [DllImport(Lib)] public static extern IntPtr ww_config_mount_memory(IntPtr config, byte[] guest, UIntPtr len, ulong quota, uint flags);
    [DllImport(Lib)] public static extern IntPtr ww_config_policy_toml(IntPtr config, byte[] toml, UIntPtr len);
    [DllImport(Lib)] public static extern IntPtr ww_config_prompter(IntPtr config, PromptCallback callback, IntPtr env, IntPtr finalizer);
    [DllImport(Lib)] public static extern IntPtr ww_ctx_new(IntPtr config, out IntPtr ctx);
    [DllImport(Lib)] public static extern IntPtr ww_ctx_attach(IntPtr ctx, IntPtr store);
    [DllImport(Lib)] public static extern void ww_ctx_delete(IntPtr ctx);
    [DllImport(Lib)] public static extern int ww_ctx_stop(IntPtr ctx, out int exitCode, out Bytes message);
    [DllImport(Lib)] public static extern IntPtr ww_ctx_save_tar(IntPtr ctx, byte[] guest, UIntPtr len, out Bytes tar);

    public static void Check(IntPtr error)
    {
        if (error == IntPtr.Zero) return;
        string text = Marshal.PtrToStringAnsi(ww_error_message(error));
        ww_error_delete(error);
        throw new Exception("wasi-warden: " + text);
    }

    public static string Text(IntPtr data, UIntPtr len)
    {
        if (data == IntPtr.Zero) return null;
        byte[] bytes = new byte[(int)len];
        Marshal.Copy(data, bytes, 0, bytes.Length);
        return Encoding.UTF8.GetString(bytes);
    }

    public static byte[] Take(ref Bytes bytes)
    {
        byte[] copy = new byte[(int)bytes.Size];
        if (copy.Length > 0) Marshal.Copy(bytes.Data, copy, 0, copy.Length);
        ww_bytes_delete(ref bytes);
        return copy;
    }
}

static class Program
{
    // The user's module: saves its score to /save/score.txt, then chats forever.
    const string Guest = @"(module
      (import ""wasi_snapshot_preview1"" ""path_open"" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import ""wasi_snapshot_preview1"" ""fd_write"" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export ""memory"") 1)
      (data (i32.const 64) ""score.txt"")
      (data (i32.const 96) ""42"")
      (data (i32.const 128) ""hello from the user's module\n"")
      (func (export ""_start"")
        (drop (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 9)
          (i32.const 1) (i64.const 0x7e) (i64.const 0) (i32.const 0) (i32.const 8)))
        (i32.store (i32.const 0) (i32.const 96)) (i32.store (i32.const 4) (i32.const 2))
        (drop (call $w (i32.load (i32.const 8)) (i32.const 0) (i32.const 1) (i32.const 12)))
        (i32.store (i32.const 16) (i32.const 128)) (i32.store (i32.const 20) (i32.const 29))
        (loop $chat (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 12)))
          (br $chat))))";

    static readonly StringBuilder ChatLog = new StringBuilder();
    static int prompts;
    static string lastPrompt;
    // Kept alive as long as the native side may call them.
    static readonly Warden.OutputCallback ToChat = (env, data, len) => ChatLog.Append(Warden.Text(data, len));
    static readonly Warden.PromptCallback AskPlayer = (env, raw) =>
    {
        var prompt = (Warden.Prompt)Marshal.PtrToStructure(raw, typeof(Warden.Prompt));
        var request = (Warden.Request)Marshal.PtrToStructure(prompt.Request, typeof(Warden.Request));
        prompts++;
        lastPrompt = Warden.Text(prompt.Message, prompt.MessageLen);
        Console.WriteLine("[permission dialog] " + lastPrompt + " -> allowed once (" +
                          Warden.Text(request.Syscall, request.SyscallLen) + ")");
        return Warden.AnswerAllowOnce;
    };

    static byte[] Utf8(string text) { return Encoding.UTF8.GetBytes(text); }
    static UIntPtr Len(byte[] bytes) { return (UIntPtr)bytes.Length; }

    static int Main()
    {
        string wasmtimePath = Environment.GetEnvironmentVariable("WW_WASMTIME") ?? "libwasmtime.so";
        byte[] path = Utf8(wasmtimePath);
        IntPtr engine = Wasmtime.wasm_engine_new();
        IntPtr linker = Wasmtime.wasmtime_linker_new(engine);
        Warden.Check(Warden.ww_init_path(path, Len(path)));
        Warden.Check(Warden.ww_linker_define(linker));
        Console.WriteLine("wasi-warden " + Marshal.PtrToStringAnsi(Warden.ww_version()));

        IntPtr config = Warden.ww_config_new();
        byte[] arg = Utf8("game.wasm");
        Warden.Check(Warden.ww_config_arg(config, arg, Len(arg)));
        Warden.Check(Warden.ww_config_output_callback(config, Warden.Stdout, ToChat, IntPtr.Zero, IntPtr.Zero));
        Warden.Check(Warden.ww_config_output_limit(config, Warden.Stdout, 4096, Warden.LimitTrap));
        byte[] save = Utf8("/save");
        Warden.Check(Warden.ww_config_mount_memory(config, save, Len(save), 1 << 20, 0));
        byte[] policy = Utf8("[[rule]]\nsyscalls = [\"path_open\"]\naccess = [\"write\", \"create\"]\n" +
                             "path = \"/save/**\"\ndecision = \"ask\"\n");
        Warden.Check(Warden.ww_config_policy_toml(config, policy, Len(policy)));
        Warden.Check(Warden.ww_config_prompter(config, AskPlayer, IntPtr.Zero, IntPtr.Zero));
        IntPtr ctx;
        Warden.Check(Warden.ww_ctx_new(config, out ctx));

        IntPtr store = Wasmtime.wasmtime_store_new(engine, IntPtr.Zero, IntPtr.Zero);
        IntPtr context = Wasmtime.wasmtime_store_context(store);
        Warden.Check(Warden.ww_ctx_attach(ctx, context));
        byte[] wat = Utf8(Guest);
        Wasmtime.ByteVec wasm;
        Wasmtime.Check(Wasmtime.wasmtime_wat2wasm(wat, Len(wat), out wasm));
        IntPtr module;
        Wasmtime.Check(Wasmtime.wasmtime_module_new(engine, wasm.Data, wasm.Size, out module));
        Wasmtime.wasm_byte_vec_delete(ref wasm);
        Wasmtime.Instance instance;
        IntPtr trap;
        Wasmtime.Check(Wasmtime.wasmtime_linker_instantiate(linker, context, module, out instance, out trap));
        Wasmtime.Extern start;
        byte[] name = Utf8("_start");
        if (!Wasmtime.wasmtime_instance_export_get(context, ref instance, name, Len(name), out start))
            throw new Exception("no _start");
        IntPtr error = Wasmtime.wasmtime_func_call(context, ref start.Func, IntPtr.Zero, UIntPtr.Zero,
                                                   IntPtr.Zero, UIntPtr.Zero, out trap);
        bool trapped = error != IntPtr.Zero || trap != IntPtr.Zero;
        if (error != IntPtr.Zero) Wasmtime.wasmtime_error_delete(error);
        if (trap != IntPtr.Zero) Wasmtime.wasm_trap_delete(trap);

        int exitCode;
        Warden.Bytes message;
        int stop = Warden.ww_ctx_stop(ctx, out exitCode, out message);
        string why = Encoding.UTF8.GetString(Warden.Take(ref message));
        Warden.Bytes tar;
        Warden.Check(Warden.ww_ctx_save_tar(ctx, save, Len(save), out tar));
        string image = Encoding.ASCII.GetString(Warden.Take(ref tar));
        Console.WriteLine("stopped: " + why);
        Console.WriteLine("chat log: " + ChatLog.Length + " bytes, first line: " +
                          ChatLog.ToString().Split('\n')[0]);

        bool good = trapped && stop == Warden.StopLimit && ChatLog.Length <= 4096 &&
                    ChatLog.Length > 4000 && prompts == 1 && lastPrompt.Contains("/save/score.txt") &&
                    image.Contains("score.txt") && image.Contains("42");
        Warden.ww_ctx_delete(ctx);
        Wasmtime.wasmtime_store_delete(store);
        Wasmtime.wasmtime_module_delete(module);
        Wasmtime.wasmtime_linker_delete(linker);
        Wasmtime.wasm_engine_delete(engine);
        Console.WriteLine(good ? "C# sample: ok" : "C# sample: FAILED");
        return good ? 0 : 1;
    }
}
