'use strict';
/**
 * Puts `custom.templateRules` into the packaged template as its `Rules` section: osls validates
 * `resources` against a schema without `Rules`, a section CloudFormation evaluates before it creates or
 * updates anything (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html).
 */
class TemplateRules {
  constructor(serverless) {
    this.hooks = {
      'before:aws:package:finalize:saveServiceState': () => {
        const rules = serverless.service.custom?.templateRules;
        if (rules) serverless.service.provider.compiledCloudFormationTemplate.Rules = rules;
      },
    };
  }
}

module.exports = TemplateRules;
