/*
 * main() for test binaries, shipped as libktstr_main.a so that it lands in
 * the user's executable: only there do __start_/__stop_kt_tests name the
 * executable's own test table.
 */
#include <ktstr/test.h>

extern const struct kt_test_def *const __start_kt_tests[] __attribute__((weak));
extern const struct kt_test_def *const __stop_kt_tests[] __attribute__((weak));

int main(int argc, char **argv);

int main(int argc, char **argv)
{
	return kt_test_main(argc, argv, __start_kt_tests, __stop_kt_tests);
}
