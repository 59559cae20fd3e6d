#!/usr/bin/env node
// pms.ts -- the CDK app: one stack, "pms", shaped by the context
// switches in lib/settings.ts (-c target=localstack for an emulator).
// The stack is environment-agnostic (no account/region), so synth needs
// no credentials and does no lookups.
import * as cdk from 'aws-cdk-lib';
import { PmsStack } from '../lib/pms-stack';
import { settingsFromContext } from '../lib/settings';

const app = new cdk.App();
const settings = settingsFromContext(app.node);
new PmsStack(app, 'Pms', {
    stackName: 'pms',
    description: `pms patient management system (target ${settings.target})`,
    settings,
});
app.synth();
