using SkiaSharp;

namespace Nabla.Imaging;

/// <summary>The font the report plots (the CLI's and the lab's) write their text in.</summary>
public static class Fonts
{
    private static readonly Lazy<string?> Sans = new(() =>
    {
        var families = SKFontManager.Default.FontFamilies.Where(f => !string.IsNullOrEmpty(f)).ToList();
        foreach (string name in (string[])["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"])
            if (families.Contains(name, StringComparer.OrdinalIgnoreCase))
                return name;
        return families.FirstOrDefault(f => f.Contains("Sans", StringComparison.OrdinalIgnoreCase)) ?? families.FirstOrDefault();
    });

    /// <summary>
    /// A sans-serif family this machine has (DejaVu Sans, Liberation Sans, Noto Sans, Arial or Helvetica first, then any
    /// "Sans", then any), or null when SkiaSharp finds no font at all. SkiaSharp (its NoDependencies build) reads the
    /// fonts under /usr/share/fonts, which Debian's fonts-dejavu-core fills.
    /// </summary>
    public static string? SansSerif => Sans.Value;
}
