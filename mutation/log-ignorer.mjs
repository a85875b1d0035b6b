/**
 * Stryker ignorer: mutants inside logging statements (`this.log(...)`, `log(...)`,
 * `this.logger?.debug(...)`, ...) are not generated. A log line never reaches the wire, so such a
 * mutant could only be "killed" by a test that reads log text, and the conformance suites, the
 * only kill test here, see the wire alone (TOOLCHAIN.md: exclude mutations of log text).
 */
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

const LOG_METHODS = new Set(['log', 'debug', 'info', 'warn', 'trace']);

function calleeName(callee) {
  if (callee.type === 'Identifier') return callee.name;
  if ((callee.type === 'MemberExpression' || callee.type === 'OptionalMemberExpression') && callee.property.type === 'Identifier') {
    return callee.property.name;
  }
  return undefined;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'log-statements', {
    shouldIgnore(path) {
      if (!path.isExpressionStatement()) return undefined;
      const e = path.node.expression;
      if (e.type !== 'CallExpression' && e.type !== 'OptionalCallExpression') return undefined;
      const name = calleeName(e.callee);
      return name !== undefined && LOG_METHODS.has(name) ? 'a log statement: never on the wire' : undefined;
    },
  }),
];
