import '../local/engine/polyfills.ts';

// The AWS SDK's Node 20 support notice would repeat in every test worker's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
