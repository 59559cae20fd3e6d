# scripts/80-cloud.sh -- the cloud layout's checks in ./pms test: the CDK
# app's typecheck, both synths, its assertion tests and the deploy test
# against two AWS emulators on loopback, LocalStack and moto
# (aws-cdk/run-tests.sh).

pms_cloud_test() {
    pms_say "cloud layout (aws-cdk/run-tests.sh)"
    timeout -k 10 1200 bash "$PMS_SRC/aws-cdk/run-tests.sh" >"$PMS_RUN/log/cloud-tests.out" 2>&1
    local rc=$?
    tail -n 12 "$PMS_RUN/log/cloud-tests.out"
    return "$rc"
}
PMS_HOOK_TEST+=(pms_cloud_test)
