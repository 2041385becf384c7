// Purpose: fmt's compiled part, built once for the whole project.
//
// Debian's libfmt-dev ships fmt only as a shared library or header-only. Header-only
// (FMT_HEADER_ONLY) compiles fmt's implementation into every translation unit that includes
// <fmt/format.h> - about 5 s of compile time each, most of our build. Linking libfmt.so would
// add a run-time dependency and a library to load at start-up. Instead, every TU includes the
// headers in their "compiled library" mode and this TU provides the definitions (format-inl.h)
// and the explicit instantiations those headers declare but do not define.
#include <fmt/format-inl.h>
#include <locale>

FMT_BEGIN_NAMESPACE
namespace detail {

template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;

template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
template void buffer<char>::append(const char*, const char*);
template void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                         locale_ref);

template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template auto decimal_point_impl(locale_ref) -> wchar_t;

} // namespace detail
FMT_END_NAMESPACE
