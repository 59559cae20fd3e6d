/*
 * check_config.c -- the environment configuration table: defaults,
 * bounds, types, and that every bad variable is named.
 */
#include <string.h>

#include "check_pms.h"
#include "pms_config.h"
#include "pms_daemon.h"

static const char *fake_env[][2] = {
    { NULL, NULL },
    { NULL, NULL },
    { NULL, NULL },
    { NULL, NULL },
};

static const char *
fake_get(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(fake_env) / sizeof(fake_env[0]); i++) {
        if (fake_env[i][0] != NULL && strcmp(fake_env[i][0], name) == 0) {
            return fake_env[i][1];
        }
    }
    return NULL;
}

static void
fake_set(int slot, const char *name, const char *value)
{
    fake_env[slot][0] = name;
    fake_env[slot][1] = value;
}

static long        t_workers;
static const char *t_db;
static int         t_flag;

static const pms_conf_entry_t t_table[] = {
    { "T_WORKERS", PMS_CONF_INT, "4", 1, 64, "workers", &t_workers },
    { "T_DB", PMS_CONF_STR, "dbname=x", 1, 100, "db", &t_db },
    { "T_FLAG", PMS_CONF_BOOL, "false", 0, 0, "flag", &t_flag },
};

static void
reset(void)
{
    memset(fake_env, 0, sizeof(fake_env));
}

START_TEST(test_defaults)
{
    char err[256];

    reset();
    ck_assert_int_eq(pms_config_load(t_table, 3, fake_get, err, sizeof(err)),
        0);
    ck_assert_int_eq(t_workers, 4);
    ck_assert_str_eq(t_db, "dbname=x");
    ck_assert_int_eq(t_flag, 0);
}
END_TEST

START_TEST(test_values)
{
    char err[256];

    reset();
    fake_set(0, "T_WORKERS", "64");
    fake_set(1, "T_DB", "host=/tmp");
    fake_set(2, "T_FLAG", "yes");
    ck_assert_int_eq(pms_config_load(t_table, 3, fake_get, err, sizeof(err)),
        0);
    ck_assert_int_eq(t_workers, 64);
    ck_assert_str_eq(t_db, "host=/tmp");
    ck_assert_int_eq(t_flag, 1);
}
END_TEST

START_TEST(test_every_bad_variable_named)
{
    char err[512];

    reset();
    fake_set(0, "T_WORKERS", "65");
    fake_set(1, "T_DB", "");
    fake_set(2, "T_FLAG", "maybe");
    ck_assert_int_eq(pms_config_load(t_table, 3, fake_get, err, sizeof(err)),
        -1);
    ck_assert_ptr_nonnull(strstr(err, "T_WORKERS: 65 is outside 1..64"));
    ck_assert_ptr_nonnull(strstr(err, "T_DB"));
    ck_assert_ptr_nonnull(strstr(err, "T_FLAG"));
}
END_TEST

START_TEST(test_not_an_integer)
{
    char err[256];

    reset();
    fake_set(0, "T_WORKERS", "4x");
    ck_assert_int_eq(pms_config_load(t_table, 3, fake_get, err, sizeof(err)),
        -1);
    ck_assert_ptr_nonnull(strstr(err, "T_WORKERS: \"4x\" is not an integer"));
    reset();
    fake_set(0, "T_WORKERS", "99999999999999999999");
    ck_assert_int_eq(pms_config_load(t_table, 3, fake_get, err, sizeof(err)),
        -1);
}
END_TEST

/* The skeleton knows a name only when one of the daemon's tables has it,
 * by whole name (a prefix or a longer name is unknown). */
START_TEST(test_daemon_knows_its_names)
{
    static long                   workers, batch;
    static int                    debug;
    static const pms_conf_entry_t a[] = {
        { "PMS_PATIENT_WORKERS", PMS_CONF_INT, "4", 1, 64, "w", &workers },
    };
    static const pms_conf_entry_t b[] = {
        { "PMS_RELAY_BATCH", PMS_CONF_INT, "500", 1, 9, "b", &batch },
    };
    static const pms_daemon_conf_t tables[] = { { a, 1 }, { b, 1 } };
    static const pms_daemon_t d = { "pms-x", "x", "", tables, 2, &debug, NULL };

    ck_assert(pms_daemon_knows(&d, "PMS_PATIENT_WORKERS", 19));
    ck_assert(pms_daemon_knows(&d, "PMS_RELAY_BATCH=7", 15));
    ck_assert(!pms_daemon_knows(&d, "PMS_PATIENT_WORKER", 18));
    ck_assert(!pms_daemon_knows(&d, "PMS_PATIENT_WORKERS2", 20));
    ck_assert(!pms_daemon_knows(&d, "PMS_PATIENT_WORKRS", 18));
}
END_TEST

Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("env");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_every_bad_variable_named);
    tcase_add_test(tc, test_not_an_integer);
    tcase_add_test(tc, test_daemon_knows_its_names);
    suite_add_tcase(s, tc);
    return s;
}
