namespace Nabla.Tests;

public class CliTests
{
    static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Nabla.Cli.Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Version_prints_the_library_version()
    {
        var (code, stdout, _) = Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^nabla \d+\.\d+\.\d+", stdout);
    }

    [Fact]
    public void Help_lists_the_options()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("--version", stdout);
        Assert.Contains("Usage", stdout);
    }

    [Fact]
    public void Unknown_option_is_a_usage_error()
    {
        var (code, _, stderr) = Run("--frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("--frobnicate", stderr);
    }
}
